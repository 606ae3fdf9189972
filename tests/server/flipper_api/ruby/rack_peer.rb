# Rack 2.2 (Debian's ruby-rack) as a peer: how Flipper::Api's params come out of a
# request. One JSON request per line on stdin, one JSON reply per line on stdout.
#
# "params" does what Flipper's JsonParams middleware is documented to do (a body
# sent as exactly application/json is parsed and its keys merged into the query
# string through Rack's parse_query and build_query), then asks Rack::Request for
# the params the actions read.
require "json"
require "stringio"
require "rack"

$stdin.set_encoding("UTF-8")
$stdout.set_encoding("UTF-8")
$stdout.sync = true

def plain(value)
  case value
  when Hash then "__nested__"
  # A list of hashes or of lists (`a[][]=`) is, like a hash, nothing Flipper's
  # actions can read: flagramp calls both "nested".
  when Array then value.any? { |v| v.is_a?(Hash) || v.is_a?(Array) } ? "__nested__" : value.map { |v| plain(v) }
  when String then value.valid_encoding? ? value : (raise EncodingError, "invalid UTF-8")
  else value
  end
end

def params(req)
  query = req["query"].dup.force_encoding("BINARY")
  body = req["body"]
  if req["content_type"] == "application/json" && !body.empty?
    merged = Rack::Utils.parse_query(query)
    merged.merge!(JSON.parse(body))
    query = Rack::Utils.build_query(merged)
  end
  env = Rack::MockRequest.env_for("/", method: req["method"], input: body)
  env["QUERY_STRING"] = query
  if req["content_type"]
    env["CONTENT_TYPE"] = req["content_type"]
  else
    env.delete("CONTENT_TYPE")
  end
  values = Rack::Request.new(env).params
  { "params" => values.each_with_object({}) { |(k, v), out| out[plain(k)] = plain(v) },
    "query" => query }
end

def handle(req)
  case req["op"]
  when "version" then { "rack" => Rack.release, "ruby" => RUBY_VERSION }
  when "unescape"
    { "results" => req["inputs"].map do |s|
      decoded = Rack::Utils.unescape(s)
      decoded.valid_encoding? ? { "ok" => decoded } : { "error" => "invalid UTF-8" }
    rescue ArgumentError => e
      { "error" => e.message }
    end }
  when "params"
    begin
      params(req)
    rescue StandardError, EncodingError => e
      { "failed" => e.class.name }
    end
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
