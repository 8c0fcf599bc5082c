package io.iotpipe.elasticsearch;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkContext;
import io.iotpipe.sink.SinkPlugin;

/** The indexer as a runtime plugin: role {@code index}, the {@code elk} partition queues, the {@code indexer:} section. */
public final class IndexPlugin implements SinkPlugin {

  @Override
  public String role() {
    return "index";
  }

  @Override
  public String sink() {
    return "elk";
  }

  @Override
  public String description() {
    return "bulk-indexes readings into Elasticsearch/OpenSearch (events and latest state per device)";
  }

  @Override
  public ConsumerSettings consumer(IotpipeConfig cfg) {
    return cfg.indexer().consumer();
  }

  /** A bulk is durable when its stage completes: no commit clock needed. */
  @Override
  public Sink create(IotpipeConfig cfg, SinkContext ctx) {
    return new ElasticsearchSink(cfg.indexer(), ctx.registry(), ctx.clock(), ctx.workers());
  }
}
