# A Ruby Flipper peer for flagramp's compatibility tests: one JSON request per line on
# stdin, one JSON reply per line on stdout.
require "json"
require "set"
require "flipper"
require "flipper/version"
require "flipper/adapters/memory"

$stdin.set_encoding("UTF-8")
$stdout.set_encoding("UTF-8")
$stdout.sync = true

# An actor: a flipper_id plus properties readable as methods (actor.ehr).
class PeerActor
  attr_reader :flipper_id

  def initialize(id, props)
    @flipper_id = id
    @props = props || {}
  end

  def respond_to_missing?(name, include_private = false)
    @props.key?(name.to_s) || super
  end

  def method_missing(name, *args)
    key = name.to_s
    return @props[key] if args.empty? && @props.key?(key)
    super
  end
end

# Keeps the payload of the last feature operation, to read the deciding gate.
class LastFeaturePayload
  attr_reader :payload

  def instrument(name, payload = {})
    @payload = payload if name == Flipper::Feature::InstrumentationName
    yield payload if block_given?
  end
end

Flipper.register(:oracle) { |actor| actor.respond_to?(:ehr) && actor.ehr == "oracle" }
Flipper.register(:seniors) do |actor|
  actor.respond_to?(:age) && actor.age.is_a?(Numeric) && actor.age >= 65
end

def new_flipper(instrumenter = Flipper::Instrumenters::Noop)
  Flipper.new(Flipper::Adapters::Memory.new, instrumenter: instrumenter)
end

def apply(feature, ops)
  ops.each do |op, arg|
    case op
    when "add" then feature.add
    when "enable" then feature.enable
    when "disable" then feature.disable
    when "clear" then feature.clear
    when "enable_actor" then feature.enable_actor(Flipper::Actor.new(arg))
    when "disable_actor" then feature.disable_actor(Flipper::Actor.new(arg))
    when "enable_group" then feature.enable_group(arg)
    when "disable_group" then feature.disable_group(arg)
    when "enable_percentage_of_actors" then feature.enable_percentage_of_actors(arg)
    when "disable_percentage_of_actors" then feature.disable_percentage_of_actors
    when "enable_percentage_of_time" then feature.enable_percentage_of_time(arg)
    when "disable_percentage_of_time" then feature.disable_percentage_of_time
    else raise ArgumentError, "unknown op #{op}"
    end
  end
end

def plain(gates)
  gates.each_with_object({}) do |(key, value), out|
    out[key.to_s] = value.is_a?(Set) ? value.to_a : value
  end
end

def typecast(input)
  value = Flipper::Typecast.to_percentage(input)
  valid = begin
    Flipper::Types::Percentage.new(input)
    true
  rescue ArgumentError
    false
  end
  { "class" => value.class.name, "to_s" => value.to_s, "valid" => valid }
end

def handle(req)
  case req["op"]
  when "version"
    { "flipper" => Flipper::VERSION, "ruby" => RUBY_VERSION }
  when "bucketing"
    actors = req["ids"].map { |id| Flipper::Actor.new(id) }
    results = []
    req["features"].each do |name|
      req["percentages"].each do |pct|
        feature = new_flipper[name]
        feature.enable_percentage_of_actors(pct)
        bits = actors.map { |a| feature.enabled?(a) ? "1" : "0" }.join
        stored = feature.gate_values.percentage_of_actors.to_s
        raw = feature.adapter.get(feature)[:percentage_of_actors]
        results << { "feature" => name, "percentage" => pct, "stored" => raw,
                     "typecast" => stored, "enabled" => bits }
      end
    end
    { "results" => results }
  when "scenario"
    instrumenter = LastFeaturePayload.new
    feature = new_flipper(instrumenter)[req["feature"]]
    apply(feature, req["ops"])
    checks = req["actors"].map do |a|
      thing = a.nil? ? nil : PeerActor.new(a["id"], a["props"])
      enabled = feature.enabled?(thing)
      gate = instrumenter.payload[:gate_name]
      { "enabled" => enabled, "gate" => gate && gate.to_s }
    end
    { "gates" => plain(feature.adapter.get(feature)), "state" => feature.state.to_s,
      "checks" => checks }
  when "export"
    flipper = new_flipper
    states = {}
    req["features"].each do |f|
      apply(flipper[f["name"]], f["ops"])
    end
    req["features"].each { |f| states[f["name"]] = flipper[f["name"]].state.to_s }
    all = flipper.adapter.get_all
    features = all.each_with_object({}) { |(key, gates), out| out[key] = plain(gates) }
    { "features" => features, "states" => states }
  when "typecast"
    { "results" => req["inputs"].map { |input| typecast(input) } }
  when "float_to_s"
    { "results" => req["values"].map { |v| v.to_f.to_s } }
  when "string_to_number"
    { "results" => req["inputs"].map { |s| { "to_i" => s.to_i, "to_f" => s.to_f.to_s } } }
  else
    raise ArgumentError, "unknown op #{req['op'].inspect}"
  end
end

$stdin.each_line do |line|
  reply = begin
    handle(JSON.parse(line))
  rescue StandardError => e
    { "error" => "#{e.class}: #{e.message}" }
  end
  $stdout.puts(JSON.generate(reply))
end
