package io.iotpipe.tools.demo;

/**
 * One point of the demo's time series, taken about once a second.
 *
 * @param atSeconds   seconds since the fleet started publishing
 * @param published   messages the fleet published so far
 * @param confirmed   of those, confirmed by the edge broker
 * @param indexed     acked by the indexer (durable in OpenSearch)
 * @param stored      acked by the storage writer (committed to files)
 * @param deadLettered moved to a dead-letter queue (both sinks)
 * @param edgeQueue   messages waiting in the edge buffer
 * @param elkQueue    messages waiting in all elk partition queues
 * @param storageQueue messages waiting in all storage partition queues (incl. unacked rows of open files)
 */
public record Sample(double atSeconds, long published, long confirmed, long indexed, long stored, long deadLettered,
                     long edgeQueue, long elkQueue, long storageQueue) {}
