# Ruby Flipper 0.25.4 with its ActiveRecord adapter, as a peer for flagramp's tests
# of Flipper's tables: one JSON request per line on stdin, one JSON reply per line.
require "json"
require "set"
require "erb"
require "active_record"
require "flipper"
require "flipper/version"
require "flipper/adapters/active_record"

$stdin.set_encoding("UTF-8")
$stdout.set_encoding("UTF-8")
$stdout.sync = true
ActiveRecord::Migration.verbose = false
ActiveRecord::Base.default_timezone = :utc

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

Flipper.register(:oracle) { |actor| actor.respond_to?(:ehr) && actor.ehr == "oracle" }
Flipper.register(:seniors) do |actor|
  actor.respond_to?(:age) && actor.age.is_a?(Numeric) && actor.age >= 65
end

# Flipper 0.25's own migration, from the gem (`t.string :value`).
GEM_MIGRATION = File.join(
  Gem::Specification.find_by_name("flipper-active_record").gem_dir,
  "lib/generators/flipper/templates/migration.erb"
)

# Flipper 1.x's migration: `value` is text (MySQL indexes its first 255 characters).
class CreateFlipperTablesV1 < ActiveRecord::Migration[6.1]
  def up
    create_table :flipper_features do |t|
      t.string :key, null: false
      t.timestamps null: false
    end
    add_index :flipper_features, :key, unique: true
    create_table :flipper_gates do |t|
      t.string :feature_key, null: false
      t.string :key, null: false
      t.text :value
      t.timestamps null: false
    end
    add_index :flipper_gates, [:feature_key, :key, :value], unique: true, length: { value: 255 }
  end
end

def migration_025
  @migration_025 ||= begin
    source = ERB.new(File.read(GEM_MIGRATION)).result_with_hash(migration_version: "[6.1]")
    Module.new.module_eval(source + "\nCreateFlipperTables", GEM_MIGRATION)
  end
end

def connect(config)
  ActiveRecord::Base.remove_connection if ActiveRecord::Base.connected?
  ActiveRecord::Base.establish_connection(config.transform_keys(&:to_sym))
  ActiveRecord::Base.connection.verify!
  [Flipper::Adapters::ActiveRecord::Feature, Flipper::Adapters::ActiveRecord::Gate].each(
    &:reset_column_information
  )
  @flipper = Flipper.new(Flipper::Adapters::ActiveRecord.new)
end

def apply(feature, ops)
  ops.each do |op, arg|
    case op
    when "add" then feature.add
    when "remove" then feature.remove
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
    out[key.to_s] = value.is_a?(Set) ? value.to_a.sort : value
  end
end

def handle(req)
  case req["op"]
  when "version"
    { "flipper" => Flipper::VERSION, "activerecord" => ActiveRecord::VERSION::STRING }
  when "connect"
    connect(req["config"])
    {}
  when "migrate"
    migration = req["value"] == "string" ? migration_025 : CreateFlipperTablesV1
    migration.migrate(:up)
    [Flipper::Adapters::ActiveRecord::Feature, Flipper::Adapters::ActiveRecord::Gate].each(
      &:reset_column_information
    )
    columns = ActiveRecord::Base.connection.columns("flipper_gates")
    { "value" => columns.find { |c| c.name == "value" }.sql_type }
  when "apply"
    req["features"].each { |name, ops| apply(@flipper[name], ops) }
    {}
  when "read"
    adapter = @flipper.adapter
    features = adapter.features.to_a.sort
    gates = req["keys"].each_with_object({}) do |key, out|
      out[key] = plain(adapter.get(@flipper[key]))
    end
    { "features" => features, "gates" => gates }
  when "actors"
    @actors = req["actors"].map { |a| PeerActor.new(a["id"], a["props"]) }
    { "count" => @actors.size }
  when "evaluate"
    # One read of the gate values per feature (Flipper's memoizer, as a Rails
    # request would have), then `enabled?` for every actor.
    memoized = Flipper.new(Flipper::Adapters::ActiveRecord.new)
    memoized.memoize = true
    bits = req["keys"].each_with_object({}) do |key, out|
      feature = memoized[key]
      out[key] = @actors.map { |a| feature.enabled?(a) ? "1" : "0" }.join
    end
    { "bits" => bits }
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
