# Ruby Flipper talking to flagramp over HTTP: Flipper's own DSL, features, gates,
# typecasting and synchroniser (Debian's ruby-flipper 0.25.4) on top of an HTTP
# adapter. One JSON request per line on stdin, one JSON reply per line on stdout.
#
# Debian's package does not ship lib/flipper/adapters/http.rb. When that file is on
# the load path (RUBYLIB pointing at a Flipper checkout's lib/), the real
# Flipper::Adapters::Http is used; otherwise PeerHttpAdapter below, written from
# flagramp's Flipper reference (docs/flipper.md, "What Flipper's HTTP adapter
# sends"): the same requests, headers and status checks as Flipper 0.25's adapter,
# or main's (escaped keys, exclude_gate_names, ETag) with mode "main".
require "json"
require "net/http"
require "set"
require "socket"
require "uri"
require "flipper"
require "flipper/version"
require "flipper/adapters/memory"

$stdin.set_encoding("UTF-8")
$stdout.set_encoding("UTF-8")
$stdout.sync = true

REAL_ADAPTER = begin
  require "flipper/adapters/http"
  true
rescue LoadError
  false
end

class PeerHttpAdapter
  include Flipper::Adapter

  class Error < StandardError; end

  attr_reader :name, :requests

  def initialize(url:, mode:, headers: {})
    @base = URI(url)
    @main = mode == "main"
    @headers = headers
    @name = :http
    @etag = nil
    @cached = nil
    @requests = []
  end

  def get(feature)
    response = call(Net::HTTP::Get, "/features/#{key(feature)}")
    return default_config if response.code == "404"
    expect(response, "200")
    gates_for(feature, JSON.parse(response.body).fetch("gates"))
  end

  def get_multi(features)
    query = if @main && features.any? { |f| f.key.include?(",") }
      URI.encode_www_form(features.map { |f| ["keys[]", f.key] } + [["exclude_gate_names", "true"]])
    else
      keys = features.map { |f| @main ? URI.encode_www_form_component(f.key) : f.key }
      "keys=#{keys.join(',')}#{@main ? '&exclude_gate_names=true' : ''}"
    end
    response = call(Net::HTTP::Get, "/features?#{query}")
    expect(response, "200")
    by_key = JSON.parse(response.body).fetch("features").to_h { |f| [f["key"], f["gates"]] }
    features.to_h { |f| [f.key, gates_for(f, by_key[f.key])] }
  end

  def get_all
    headers = @main && @etag ? { "if-none-match" => @etag } : {}
    response = call(Net::HTTP::Get, @main ? "/features?exclude_gate_names=true" : "/features", nil, headers)
    return @cached if response.code == "304" && @cached
    expect(response, "200")
    features = JSON.parse(response.body).fetch("features")
    result = features.to_h do |f|
      [f["key"], gates_for(Flipper::Feature.new(f["key"], self), f["gates"])]
    end
    @etag = response["etag"] if @main && response["etag"]
    @cached = result
  end

  def features
    response = call(Net::HTTP::Get, @main ? "/features?exclude_gate_names=true" : "/features")
    expect(response, "200")
    JSON.parse(response.body).fetch("features").map { |f| f["key"] }.to_set
  end

  def add(feature)
    expect(call(Net::HTTP::Post, "/features", { name: feature.key }), "200")
    true
  end

  def remove(feature)
    expect(call(Net::HTTP::Delete, "/features/#{key(feature)}"), "204")
    true
  end

  def clear(feature)
    expect(call(Net::HTTP::Delete, "/features/#{key(feature)}/clear"), "204")
    true
  end

  def enable(feature, gate, thing)
    expect(call(Net::HTTP::Post, gate_path(feature, gate), body_for(gate, thing.value.to_s)), "200")
    true
  end

  def disable(feature, gate, thing)
    method = %i[percentage_of_actors percentage_of_time].include?(gate.key) ? Net::HTTP::Post : Net::HTTP::Delete
    expect(call(method, gate_path(feature, gate), body_for(gate, thing.value.to_s)), "200")
    true
  end

  private

  def key(feature)
    @main ? feature.key.gsub(/[^A-Za-z0-9_.~-]/) { |c| c.bytes.map { |b| format("%%%02X", b) }.join } : feature.key
  end

  def gate_path(feature, gate)
    tail = gate.key == :groups ? "?allow_unregistered_groups=true" : ""
    "/features/#{key(feature)}/#{gate.key}#{tail}"
  end

  def body_for(gate, value)
    case gate.key
    when :boolean then {}
    when :groups then { name: value }
    when :actors then { flipper_id: value }
    when :percentage_of_actors, :percentage_of_time then { percentage: value }
    else raise ArgumentError, "#{gate.key} is not a Flipper 0.25 gate"
    end
  end

  def gates_for(feature, api_gates)
    result = default_config
    feature.gates.each do |gate|
      api_gate = (api_gates || []).detect { |g| g["key"] == gate.key.to_s }
      next unless api_gate

      value = api_gate["value"]
      result[gate.key] = gate.data_type == :set ? (value || []).to_set : (value && value.to_s)
    end
    result
  end

  def call(method, path, body = nil, extra = {})
    uri = URI("#{@base}#{path.split('?').first}")
    uri.query = path.split("?", 2)[1]
    request = method.new(uri.request_uri)
    headers = {
      "Content-Type" => "application/json",
      "Accept" => "application/json",
      "User-Agent" => "Flipper HTTP Adapter v#{Flipper::VERSION} (flagramp peer)",
      "Client-Language" => "ruby",
      "Client-Language-Version" => "#{RUBY_VERSION} p#{RUBY_PATCHLEVEL} (#{RUBY_RELEASE_DATE})",
      "Client-Platform" => RUBY_PLATFORM,
      "Client-Engine" => RUBY_ENGINE,
      "Client-Pid" => Process.pid.to_s,
      "Client-Thread" => Thread.current.object_id.to_s,
      "Client-Hostname" => Socket.gethostname,
    }.merge(@headers).merge(extra)
    request.initialize_http_header(headers)
    request.body = JSON.generate(body) if body
    response = Net::HTTP.start(uri.host, uri.port) { |http| http.request(request) }
    @requests << [method::METHOD, path, response.code]
    response
  end

  def expect(response, code)
    return if response.code == code

    details = begin
      JSON.parse(response.body).values_at("message", "more_info").compact
    rescue StandardError
      []
    end
    raise Error, ["Failed with status: #{response.code}", *details].join("\n")
  end
end

# An actor with properties Ruby groups can read.
class PeerActor
  attr_reader :flipper_id

  def initialize(id, props)
    @flipper_id = id
    @props = props || {}
  end

  def admin?
    @props["role"] == "admin"
  end

  # Read by expressions (Flipper >= 1.1).
  def flipper_properties
    @props
  end
end

Flipper.register(:admins) { |actor| actor.respond_to?(:admin?) && actor.admin? }

def plain(gates)
  gates.to_h { |key, value| [key.to_s, value.is_a?(Set) ? value.to_a : value] }
end

def apply(flipper, steps)
  steps.each do |op, name, arg|
    feature = flipper[name]
    case op
    when "add" then feature.add
    when "remove" then feature.remove
    when "clear" then feature.clear
    when "enable" then feature.enable
    when "disable" then feature.disable
    when "enable_actor" then feature.enable_actor(Flipper::Actor.new(arg))
    when "disable_actor" then feature.disable_actor(Flipper::Actor.new(arg))
    when "enable_group" then feature.enable_group(arg)
    when "disable_group" then feature.disable_group(arg)
    when "enable_percentage_of_actors" then feature.enable_percentage_of_actors(arg)
    when "disable_percentage_of_actors" then feature.disable_percentage_of_actors
    when "enable_percentage_of_time" then feature.enable_percentage_of_time(arg)
    when "disable_percentage_of_time" then feature.disable_percentage_of_time
    else raise ArgumentError, "unknown step #{op}"
    end
  end
end

def handle(req)
  case req["op"]
  when "connect"
    headers = req["headers"] || {}
    @adapter = if REAL_ADAPTER
      Flipper::Adapters::Http.new(url: req["url"], headers: headers)
    else
      PeerHttpAdapter.new(url: req["url"], mode: req["mode"], headers: headers)
    end
    @flipper = Flipper.new(@adapter)
    { "flipper" => Flipper::VERSION, "adapter" => REAL_ADAPTER ? "Flipper::Adapters::Http" : "PeerHttpAdapter" }
  when "run"
    apply(@flipper, req["steps"])
    {}
  when "get_all"
    { "features" => @adapter.get_all.to_h { |key, gates| [key, plain(gates)] } }
  when "features"
    { "keys" => @adapter.features.to_a }
  when "get_multi"
    found = @adapter.get_multi(req["keys"].map { |k| @flipper[k] })
    { "features" => found.to_h { |key, gates| [key, plain(gates)] } }
  when "check"
    results = req["actors"].map do |a|
      @flipper[req["feature"]].enabled?(a && PeerActor.new(a["id"], a["props"]))
    end
    { "enabled" => results }
  when "memory_get_all"
    memory = Flipper.new(Flipper::Adapters::Memory.new)
    apply(memory, req["steps"])
    { "features" => memory.adapter.get_all.to_h { |key, gates| [key, plain(gates)] } }
  when "import_from_memory"
    source = Flipper.new(Flipper::Adapters::Memory.new)
    apply(source, req["steps"])
    @flipper.import(source)
    {}
  when "requests"
    { "requests" => @adapter.respond_to?(:requests) ? @adapter.requests : [] }
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
