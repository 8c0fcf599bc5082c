package io.iotpipe.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a fleet published and what the edge confirmed, per device: the ground truth an audit compares the sinks
 * with. Devices publish in order and retry a reading until it is confirmed, so a device's confirmed readings are
 * exactly {@code 1..confirmed}; {@code published > confirmed} means the last readings' fate is unknown (they may or
 * may not have arrived, and either is correct).
 */
public record Ledger(String runId, Map<String, Entry> devices) {

  public record Entry(long confirmed, long published) {}

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public long confirmed() {
    return devices.values().stream().mapToLong(Entry::confirmed).sum();
  }

  public void write(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
      JSON.writeValue(tmp.toFile(), this);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the ledger " + file + ": " + e.getMessage(), e);
    }
  }

  public static Ledger read(Path file) {
    try {
      JsonNode n = JSON.readTree(file.toFile());
      Map<String, Entry> d = new LinkedHashMap<>();
      n.path("devices").fields().forEachRemaining(e -> d.put(e.getKey(),
          new Entry(e.getValue().path("confirmed").asLong(), e.getValue().path("published").asLong())));
      return new Ledger(n.path("runId").asText(), d);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the ledger " + file + ": " + e.getMessage(), e);
    }
  }

  /** Merges several runs' ledgers (device ids carry the run id, so they never collide). */
  public static Ledger merge(Iterable<Ledger> ledgers) {
    Map<String, Entry> d = new LinkedHashMap<>();
    StringBuilder ids = new StringBuilder();
    for (Ledger l : ledgers) {
      d.putAll(l.devices());
      ids.append(ids.isEmpty() ? "" : ",").append(l.runId());
    }
    return new Ledger(ids.toString(), d);
  }
}
