package io.iotpipe.runtime.consume;

/**
 * A snapshot of what one sink consumer did so far: every received message ends in exactly one of
 * {@code delivered}, {@code deadLettered}, or is still pending/retrying (or was requeued by the broker when a channel
 * died: then it is received again).
 *
 * @param received      deliveries taken from the queues (redeliveries included)
 * @param redelivered   of those, flagged as redelivered by the broker
 * @param delivered     acked after the sink made them durable
 * @param invalid       failed the telemetry contract
 * @param rejected      refused by the sink as permanently bad
 * @param deadLettered  published to the dead-letter queue (confirmed) and acked
 * @param retries       transient sink failures retried after backoff
 * @param pending       received but not yet settled
 * @param connected     whether the consumer currently holds a connection with all queues subscribed
 * @param reconnects    connections (re)established so far
 * @param lastError     the most recent problem, for status displays; null when none
 */
public record ConsumerStats(long received, long redelivered, long delivered, long invalid, long rejected,
                            long deadLettered, long retries, long pending, boolean connected, long reconnects,
                            String lastError) {}
