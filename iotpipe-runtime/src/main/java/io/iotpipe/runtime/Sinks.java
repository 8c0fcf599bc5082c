package io.iotpipe.runtime;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.sink.Sink;
import io.iotpipe.elasticsearch.ElasticsearchSink;
import io.iotpipe.storage.StorageSink;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;

/** The one place that knows which sink serves which role. */
final class Sinks {

  private Sinks() {}

  static Sink create(Role role, IotpipeConfig cfg, String instanceId, MeterRegistry registry) {
    return switch (role) {
      case INDEX -> new ElasticsearchSink(cfg.indexer(), registry);
      case STORE -> {
        Sink files = new StorageSink(cfg.storage(), Clock.systemUTC(), registry);
        yield cfg.storage().privacy().active() ? new io.iotpipe.storage.PrivateSink(files, cfg.storage().privacy()) : files;
      }
    };
  }
}
