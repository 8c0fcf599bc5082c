package io.iotpipe.sink;

import io.iotpipe.core.envelope.Telemetry;

/**
 * A validated reading handed to a sink, with the original bytes (sinks that store the raw envelope need not
 * re-encode) and where it came from.
 *
 * @param telemetry    the decoded, validated reading
 * @param body         the message body exactly as received
 * @param source       the queue it was consumed from (for metrics and error messages)
 * @param publishedAt  epoch millis the device published it (AMQP timestamp), or 0 when unknown; used for latency
 */
public record SinkRecord(Telemetry telemetry, byte[] body, String source, long publishedAt) {}
