# frozen_string_literal: true

# flagramp for Rails apps that use Flipper: copy this file to
# config/initializers/flagramp.rb. It is the only change the app needs.
#
# It reports to flagramp's events endpoint (POST /api/v1/events):
# - exposures, from Flipper's own instrumentation (`feature_operation.flipper`,
#   which Flipper's railtie sends through ActiveSupport::Notifications): one when
#   an actor's variant of a feature is new this minute;
# - request outcomes, from a Rack middleware it adds at the top of the stack:
#   status, latency, and an exception fingerprint ("Class /route/template"), with
#   the features the request evaluated and what they answered.
#
# Settings come from the environment (set them where the app's secrets live):
#   FLAGRAMP_URL          https://flags.example (the server; /api/v1 is added)
#   FLAGRAMP_TOKEN        an SDK token of the environment (frp_<id>_<secret>)
#   FLAGRAMP_ENVIRONMENT  the flagramp environment (default: production)
#   FLAGRAMP_EVENT_NAME   the name request outcomes count under (default: request)
# Without FLAGRAMP_URL and FLAGRAMP_TOKEN the file does nothing.
#
# Metrics in Prometheus or Datadog can carry the same attribution: tag them with
# `variant` (on/off) and `flag` from Flagramp.current_variants (see docs/sdk.md).
#
# Delivery never blocks a request: events go to a bounded in-memory queue that a
# background thread sends in batches (at most 500 events, every 5 s, gzipped);
# a failed batch is retried under the same batch key, so the server counts it
# once; events older than 55 minutes are dropped (the server refuses them).

require "json"
require "net/http"
require "securerandom"
require "set"
require "uri"
require "zlib"
require "active_support/notifications"

module Flagramp
  MAX_BATCH_AGE = 55 * 60
  MAX_TEXT = 500

  # The queue, the deduplication of exposures, and the sending thread.
  class Reporter
    attr_reader :sent, :rejected, :dropped

    def initialize(url:, token:, environment: "production", batch_size: 500,
                   flush_interval: 5.0, max_queue: 100_000, logger: nil,
                   clock: -> { Time.now.to_f })
      base = url.to_s.sub(%r{/+\z}, "")
      base += "/api/v1" unless base.end_with?("/api/v1")
      @uri = URI.parse("#{base}/events")
      @token = token
      @environment = environment
      @batch_size = batch_size
      @flush_interval = flush_interval
      @max_queue = max_queue
      @logger = logger
      @clock = clock
      @prefix = "ruby-#{SecureRandom.uuid}-"
      @number = 0
      @queue = []
      @unsent = nil
      @lock = Mutex.new
      @send_lock = Mutex.new
      @wake = ConditionVariable.new
      @minute = nil
      @seen = {}
      @draws = Set.new
      @sent = @rejected = @dropped = 0
      @failing = false
      @stopped = false
      @thread = nil
    end

    # An exposure when the actor's variant of the flag is new this minute: the
    # first check, and every change of answer (the server counts outcomes under
    # the latest exposure). A flag that draws per check (percentage_of_time)
    # sends each variant once a minute, or it would send half its checks.
    def exposure(flag, actor, enabled, allow_listed, draws: false)
      return if actor.nil? || actor.strip.empty?

      at = @clock.call
      @lock.synchronize do
        minute = (at / 60).floor
        if minute != @minute
          @minute = minute
          @seen.clear
        end
        @draws << flag if draws
        last, sent = @seen[[actor, flag]] ||= [nil, Set.new]
        return if last == enabled
        return if @draws.include?(flag) && sent.include?(enabled)

        @seen[[actor, flag]][0] = enabled
        sent << enabled
      end
      put("type" => "exposure", "at" => at, "actor" => actor, "flag" => flag,
          "variant" => enabled ? "on" : "off", "environment" => @environment,
          "allow_listed" => allow_listed)
    end

    def request(actor:, route:, status:, latency_ms:, error:, name:, flags:)
      put("type" => "request", "at" => @clock.call, "actor" => actor,
          "route" => Flagramp.clip(route), "status" => status,
          "latency_ms" => [latency_ms, 0.0].max, "error" => error, "name" => name,
          "flags" => flags.transform_values { |on| on ? "on" : "off" })
    end

    def put(event)
      start
      @lock.synchronize do
        if @queue.size >= @max_queue
          @dropped += 1
        else
          @queue << event
          @wake.signal if @queue.size >= @batch_size
        end
      end
    end

    # Send everything queued now; true when nothing is left undelivered.
    def flush
      @send_lock.synchronize { send_pending }
    end

    def shutdown
      @lock.synchronize do
        @stopped = true
        @wake.signal
      end
      @thread&.join(2)
      flush
    end

    private

    def start
      return if @thread || @stopped

      @lock.synchronize do
        @thread ||= Thread.new { run }
      end
    end

    def run
      delay = @flush_interval
      loop do
        @lock.synchronize do
          @wake.wait(@lock, delay) if @queue.size < @batch_size && !@stopped
          return if @stopped
        end
        delay = @send_lock.synchronize { send_pending } ? @flush_interval : [delay * 2, 60].min
      end
    rescue StandardError => e
      log("flagramp: the event thread stopped: #{e.class}: #{e.message}")
    end

    def send_pending
      loop do
        batch = next_batch
        return true if batch.nil?
        return false unless deliver(batch)
      end
    end

    def next_batch
      @lock.synchronize do
        if @unsent
          batch, @unsent = @unsent, nil
          if batch[:oldest] < @clock.call - MAX_BATCH_AGE
            @dropped += batch[:events].size
            log("flagramp: dropped #{batch[:events].size} events older than the server accepts")
            return next_batch_locked
          end
          return batch
        end
        next_batch_locked
      end
    end

    def next_batch_locked
      return nil if @queue.empty?

      events = @queue.shift(@batch_size)
      @number += 1
      { key: "#{@prefix}#{@number}", events: events,
        oldest: events.map { |e| e["at"] }.min }
    end

    # True when the batch is settled (delivered or given up), false to retry.
    def deliver(batch)
      body = JSON.generate("environment" => @environment, "batch_key" => batch[:key],
                           "events" => batch[:events])
      request = Net::HTTP::Post.new(@uri)
      request["Authorization"] = "Bearer #{@token}"
      request["Content-Type"] = "application/json"
      request["User-Agent"] = "flagramp-ruby"
      if body.bytesize > 1024
        request["Content-Encoding"] = "gzip"
        body = Zlib.gzip(body)
      end
      request.body = body
      response = Net::HTTP.start(@uri.host, @uri.port, use_ssl: @uri.scheme == "https",
                                                       open_timeout: 5, read_timeout: 10) do |http|
        http.request(request)
      end
      settle(batch, response)
    rescue StandardError => e
      retry_later(batch, "#{e.class}: #{e.message}")
    end

    def settle(batch, response)
      code = response.code.to_i
      if code == 200
        answer = JSON.parse(response.body)
        @lock.synchronize do
          @sent += answer["duplicate"] ? batch[:events].size : answer["accepted"].to_i
          @rejected += Array(answer["rejected"]).size
        end
        recovered
        return true
      end
      return retry_later(batch, "HTTP #{code}") if code >= 500 || [401, 403, 408, 429].include?(code)

      @lock.synchronize { @dropped += batch[:events].size }
      log("flagramp: the server refused #{batch[:events].size} events (HTTP #{code}): #{response.body.to_s[0, 200]}")
      true
    end

    def retry_later(batch, why)
      @lock.synchronize { @unsent = batch }
      unless @failing
        @failing = true
        log("flagramp: cannot deliver events (#{why}); keeping them to retry")
      end
      false
    end

    def recovered
      return unless @failing

      @failing = false
      log("flagramp: events are delivered again")
    end

    def log(message)
      @logger ? @logger.warn(message) : warn(message)
    end
  end

  # What one request evaluated; fiber-local, as Thread#[] is.
  class RequestRecord
    attr_accessor :actor
    attr_reader :flags

    def initialize
      @flags = {}
      @actor = nil
    end
  end

  # Flipper's `feature_operation.flipper` events, as exposures.
  class Subscriber
    def initialize(reporter)
      @reporter = reporter
    end

    def call(_name, _started, _finished, _id, payload)
      return unless payload[:operation] == :enabled?

      flag = payload[:feature_name].to_s
      enabled = payload[:result] ? true : false
      # Flipper 1.x passes every actor in :actors; 0.25 passes one as :thing.
      actors = payload[:actors] || [payload[:thing]].compact
      allow_listed = enabled && payload[:gate_name].to_s == "actor"
      record = Thread.current[:flagramp_request]
      record.flags[flag] = enabled if record
      actors.each do |actor|
        id = actor.respond_to?(:value) ? actor.value : actor.flipper_id.to_s
        next if id.nil?

        record.actor ||= id if record
        draws = payload[:gate_name].to_s == "percentage_of_time"
        @reporter.exposure(flag, id.to_s, enabled, allow_listed, draws: draws)
      end
    rescue StandardError => e
      warn("flagramp: could not record an exposure: #{e.class}: #{e.message}")
    end
  end

  # Rack middleware: each request's outcome, with the flags it evaluated.
  class Middleware
    def initialize(app, reporter = Flagramp.reporter, name: Flagramp.event_name, route: nil)
      @app = app
      @reporter = reporter
      @name = name
      @route = route
    end

    def call(env)
      return @app.call(env) if @reporter.nil?

      record = RequestRecord.new
      previous = Thread.current[:flagramp_request]
      Thread.current[:flagramp_request] = record
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      status = 500
      error = nil
      begin
        status, headers, body = @app.call(env)
        [status, headers, body]
      rescue Exception => e # rubocop:disable Lint/RescueException -- re-raised
        error = e
        raise
      ensure
        Thread.current[:flagramp_request] = previous
        finish(env, record, status, started, error)
      end
    end

    private

    def finish(env, record, status, started, error)
      return if record.actor.nil?

      route = route_of(env)
      error ||= env["action_dispatch.exception"]
      @reporter.request(
        actor: record.actor, route: route, status: status.to_i,
        latency_ms: (Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000.0,
        error: error && Flagramp.clip("#{error.class.name} #{route}"),
        name: @name, flags: record.flags
      )
    rescue StandardError => e
      warn("flagramp: could not record a request: #{e.class}: #{e.message}")
    end

    def route_of(env)
      custom = @route&.call(env)
      return custom if custom.is_a?(String) && !custom.empty?

      pattern = env["action_dispatch.route_uri_pattern"] # Rails 7.1 and later
      return pattern.sub("(.:format)", "") if pattern.is_a?(String)

      path = "#{env['SCRIPT_NAME']}#{env['PATH_INFO']}"
      path.empty? ? "/" : path
    end
  end

  class << self
    attr_reader :reporter

    def event_name
      @event_name || "request"
    end

    # Start reporting; the initializer calls it with the environment's settings.
    def configure(url:, token:, environment: "production", event_name: "request", **options)
      @event_name = event_name
      @reporter = Reporter.new(url: url, token: token, environment: environment, **options)
      @subscription = ActiveSupport::Notifications.subscribe(
        "feature_operation.flipper", Subscriber.new(@reporter)
      )
      at_exit { @reporter&.shutdown }
      @reporter
    end

    def stop
      ActiveSupport::Notifications.unsubscribe(@subscription) if @subscription
      @reporter&.shutdown
      @reporter = @subscription = nil
    end

    # {"flag" => "on" | "off"} for the current request, to tag metrics with.
    def current_variants
      record = Thread.current[:flagramp_request]
      record ? record.flags.transform_values { |on| on ? "on" : "off" } : {}
    end

    def clip(text)
      text = text.to_s
      text.bytesize <= MAX_TEXT ? text : text.byteslice(0, MAX_TEXT).scrub("")
    end
  end
end

if ENV["FLAGRAMP_URL"].to_s != "" && ENV["FLAGRAMP_TOKEN"].to_s != ""
  Flagramp.configure(
    url: ENV.fetch("FLAGRAMP_URL"),
    token: ENV.fetch("FLAGRAMP_TOKEN"),
    environment: ENV.fetch("FLAGRAMP_ENVIRONMENT", "production"),
    event_name: ENV.fetch("FLAGRAMP_EVENT_NAME", "request")
  )
  if defined?(Rails) && Rails.respond_to?(:application) && Rails.application
    Rails.application.config.middleware.insert(0, Flagramp::Middleware)
  end
end
