package io.iotpipe.sink;

import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.config.StorageConfig.Action;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.privacy.Pseudonymiser;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The data scientists' copy without what they must not see: wraps a store (the file store, the lake's table) and
 * applies {@code storage.privacy} to every reading before the sink sees it — so the files, the commit log or table
 * state (which key uniqueness by device) and the conflict fingerprints all hold the pseudonym, never the raw device
 * id. A pseudonym is deterministic (HMAC-SHA256), so {@code (deviceId, seq)} uniqueness and redelivery detection work
 * on it unchanged. Here, beside the sink contract, so that every store applies the one policy the one way.
 */
public final class PrivateSink implements Sink {

  private final Sink files;
  private final StorageConfig.Privacy privacy;
  private final Pseudonymiser pseudonyms;

  public PrivateSink(Sink files, StorageConfig.Privacy privacy) {
    this.files = files;
    this.privacy = privacy;
    this.pseudonyms = privacy.columns().containsValue(Action.PSEUDONYMISE)
        ? new Pseudonymiser(privacy.key().reveal().strip().getBytes(StandardCharsets.UTF_8), "storage.privacy.key")
        : null;
  }

  /** The reading as the files may hold it. */
  Telemetry apply(Telemetry t) {
    Telemetry out = t.withIdentity(column("deviceId", t.deviceId()), column("site", t.site()), column("region", t.region()),
        column("status", t.status()), column("errorCode", t.errorCode())).withTenant(column("tenant", t.tenant()));
    if (t.attributes().isEmpty() || privacy.action("attributes") == Action.KEEP) {
      return out;
    }
    Map<String, String> attributes = new LinkedHashMap<>();
    if (privacy.action("attributes") == Action.PSEUDONYMISE) {
      t.attributes().forEach((k, v) -> attributes.put(k, pseudonyms.pseudonym(v)));
    }
    return out.withAttributes(attributes);
  }

  private String column(String name, String value) {
    if (value == null) {
      return null;
    }
    return switch (privacy.action(name)) {
      case KEEP -> value;
      case DROP -> null;
      case PSEUDONYMISE -> pseudonyms.pseudonym(value);
    };
  }

  @Override
  public boolean batchesPerPartition() {
    return files.batchesPerPartition();
  }

  @Override
  public String name() {
    return files.name();
  }

  @Override
  public void open(String partition) {
    files.open(partition);
  }

  @Override
  public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
    List<SinkRecord> safe = new ArrayList<>(batch.size());
    for (SinkRecord r : batch) {
      safe.add(new SinkRecord(apply(r.telemetry()), r.body(), r.source(), r.publishedAt()));
    }
    return files.write(safe);
  }

  @Override
  public void commit() {
    files.commit();
  }

  @Override
  public void flush() {
    files.flush();
  }

  @Override
  public void close(String partition) {
    files.close(partition);
  }

  @Override
  public SinkHealth health() {
    return files.health();
  }

  @Override
  public void close() {
    files.close();
  }
}
