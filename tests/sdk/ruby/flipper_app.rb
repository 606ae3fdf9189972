# frozen_string_literal: true

# A Rack app using Flipper (Debian's ruby-flipper) as a Rails app does, with the
# flagramp initializer loaded exactly as config/initializers would load it.
# Usage: ruby flipper_app.rb INITIALIZER (FLAGRAMP_URL and FLAGRAMP_TOKEN set).
# Prints one JSON line: what the reporter counted, and Flipper's own answers.

require "json"
require "flipper"
require "flipper/adapters/memory"
require "rack"
require "rack/mock"
require "timeout"

load ARGV.fetch(0)

User = Struct.new(:id) do
  def flipper_id
    "User;#{id}"
  end
end

Flipper.configure do |config|
  config.default do
    Flipper.new(Flipper::Adapters::Memory.new, instrumenter: ActiveSupport::Notifications)
  end
end
Flipper.enable_percentage_of_actors(:new_flow, 50)
Flipper.enable_actor(:uat, User.new(1))

answers = {}
app = lambda do |env|
  request = Rack::Request.new(env)
  user = User.new(request.params.fetch("user").to_i)
  answers[user.flipper_id] = [Flipper.enabled?(:new_flow, user), Flipper.enabled?(:uat, user)]
  Flipper.enabled?(:new_flow, user) # a second check in the same minute
  raise Timeout::Error, "Oracle took 23 s" if request.path.start_with?("/boom")

  [answers[user.flipper_id][0] ? 200 : 404, { "content-type" => "text/plain" }, ["ok"]]
end

route = ->(env) { env["PATH_INFO"].sub(/\d+\z/, ":id") }
stack = Flagramp::Middleware.new(app, route: route)
mock = Rack::MockRequest.new(stack)
20.times { |i| mock.get("/appointments/#{i}?user=#{i}") }
mock.get("/appointments/1?user=1")
begin
  mock.get("/boom/7?user=3")
rescue Timeout::Error
  nil
end
outside = Flipper.enabled?(:new_flow, User.new(99)) # no request: an exposure only

# A rollback undone within the minute: on, off, on are all sent.
flipper_user = User.new(50)
Flipper.enable(:flip)
Flipper.enabled?(:flip, flipper_user)
Flipper.disable(:flip)
Flipper.enabled?(:flip, flipper_user)
Flipper.enabled?(:flip, flipper_user)
Flipper.enable(:flip)
Flipper.enabled?(:flip, flipper_user)
# A feature that draws per check: each variant once.
Flipper.enable_percentage_of_time(:coin, 50)
coin = Array.new(200) { Flipper.enabled?(:coin, User.new(60)) }.uniq.sort_by(&:to_s)

delivered = Flagramp.reporter.flush
reporter = Flagramp.reporter
puts JSON.generate(
  "delivered" => delivered, "sent" => reporter.sent, "rejected" => reporter.rejected,
  "dropped" => reporter.dropped, "answers" => answers, "outside" => outside,
  "coin" => coin
)
Flagramp.stop
