package io.iotpipe.lake;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.MetricsConfig;
import org.apache.iceberg.Table;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.apache.iceberg.parquet.ParquetUtil;

/**
 * The durable hand-off before a commit: a partition's readings are written as data files plus one small <em>stage
 * record</em> on the object store, and acked then; the commit that makes them visible comes later, for many stages at
 * once (Iceberg's Kafka Connect sink hands its workers' files to a coordinator the same way, through a topic; here the
 * object store holds them, as RabbitMQ has no log to replay from once a message is acked).
 *
 * <p>A record is named {@code <built-on>.<stage-id>.json} under {@code metadata/iotpipe-staged/<partition>/}: the
 * stage (or commit) it follows, so the partition's stages form a chain from its newest commit. A new owner of the
 * partition (a restart, a handover) lists the records, follows the chain from the head it reads in the table, and
 * commits what it finds before it writes anything of its own ({@code LakeSink}'s claim). Records off that chain are
 * stale: stages of a former owner that were written after the new owner had listed, whose acks could no longer reach
 * the broker (the broker hands a queue to a new single active consumer only once the old one's channel is gone), so
 * their readings come back through the broker. Hand-written because Iceberg has no staging area of its own: its
 * writers either commit or leave orphans.
 */
final class HandOff {

  static final String DIR = "/metadata/iotpipe-staged/";
  /** The name part of a chain that starts before the partition's first commit. */
  private static final String NO_COMMIT = "_";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<Map<String, List<long[]>>> RANGES = new TypeReference<>() {};

  /**
   * One staged write of one partition.
   *
   * @param builtOn the stage or commit it follows (null: the partition's first)
   * @param added   the keys of this stage's readings (its record holds them; null once written, the sink keeps the
   *                partition's running total instead: the record's size follows the stage, not the fleet)
   */
  record Stage(String id, String partition, String builtOn, List<DataFile> files, CommittedSeqs added, String location) {}

  /** A partition's stages not yet committed, oldest first, and its durable keys after the last of them. */
  record Chain(List<Stage> stages, CommittedSeqs after) {}

  private HandOff() {}

  /** Whether the table's storage can list (the hand-off needs it to find a former owner's stages). */
  static boolean supported(Table table) {
    return table.io() instanceof SupportsPrefixOperations;
  }

  static String prefix(Table table, String partition) {
    return table.location() + DIR + URLEncoder.encode(partition, StandardCharsets.UTF_8) + "/";
  }

  static String location(Table table, String partition, String builtOn, String id) {
    return prefix(table, partition) + (builtOn == null ? NO_COMMIT : builtOn) + "." + id + ".json";
  }

  /** Writes the stage record (the data files exist already): from here on the stage's readings may be acked. */
  static void write(Table table, Stage s) {
    // create(), not createOrOverwrite(): ids are unique, an existing object is a bug to surface
    try (OutputStream os = table.io().newOutputFile(s.location()).create(); JsonGenerator g = JSON.getFactory().createGenerator(os)) {
      g.writeStartObject();
      g.writeStringField("stageId", s.id());
      g.writeStringField("partition", s.partition());
      g.writeStringField("builtOn", s.builtOn());
      g.writeArrayFieldStart("files");
      for (DataFile f : s.files()) {
        g.writeStartObject();
        g.writeStringField("path", f.location());
        g.writeNumberField("bytes", f.fileSizeInBytes());
        g.writeNumberField("rows", f.recordCount());
        g.writeStringField("partition", table.specs().get(f.specId()).partitionToPath(f.partition()));
        g.writeNumberField("specId", f.specId());
        g.writeEndObject();
      }
      g.writeEndArray();
      CommitLedger.writeDevices(g, s.added());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write stage record " + s.location() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The partition's stages not yet committed: the chain of records that starts at {@code head} (the partition's
   * newest commit in the table, null if none, whose committed keys are {@code base}), oldest first. Records off the
   * chain are ignored.
   */
  static Chain chain(Table table, String partition, String head, CommittedSeqs base) {
    Map<String, String> next = new HashMap<>(); // built-on -> record location
    for (FileInfo f : ((SupportsPrefixOperations) table.io()).listPrefix(prefix(table, partition))) {
      String name = f.location().substring(f.location().lastIndexOf('/') + 1);
      String[] parts = name.split("\\.");
      if (parts.length == 3 && parts[2].equals("json")) {
        // two records built on the same stage cannot both be on a chain a claim rooted; keep either, the other is stale
        next.putIfAbsent(parts[0], f.location());
      }
    }
    List<Stage> out = new ArrayList<>();
    CommittedSeqs after = base.copy();
    String at = head == null ? NO_COMMIT : head;
    while (next.containsKey(at) && out.size() <= next.size()) {
      Stage s = read(table, next.get(at));
      out.add(s);
      s.added().forEachDevice((device, ranges) -> ranges.forEach(r -> after.addRange(device, r[0], r[1])));
      at = s.id();
    }
    return new Chain(out, after);
  }

  private static Stage read(Table table, String location) {
    try (InputStream in = table.io().newInputFile(location).newStream()) {
      JsonNode n = JSON.readTree(in);
      List<DataFile> files = new ArrayList<>();
      MetricsConfig metrics = MetricsConfig.forTable(table);
      for (JsonNode f : n.get("files")) {
        String path = f.get("path").asText();
        InputFile file = table.io().newInputFile(path, f.get("bytes").asLong());
        // the column statistics come from the file's own footer: the same the writer computed
        files.add(DataFiles.builder(table.specs().get(f.get("specId").asInt())).withPath(path).withFormat(FileFormat.PARQUET)
            .withFileSizeInBytes(f.get("bytes").asLong()).withPartitionPath(f.get("partition").asText())
            .withMetrics(ParquetUtil.fileMetrics(file, metrics)).withSortOrder(table.sortOrder()).build());
      }
      CommittedSeqs added = CommittedSeqs.fromRanges(JSON.convertValue(n.get("devices"), RANGES));
      JsonNode builtOn = n.get("builtOn");
      return new Stage(n.get("stageId").asText(), n.get("partition").asText(),
          builtOn == null || builtOn.isNull() ? null : builtOn.asText(), files, added, location);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read stage record " + location + ": " + e.getMessage(), e);
    }
  }

  /** Removes committed stages' records (their data files now belong to the table); failures leave harmless records. */
  static void forget(Table table, List<Stage> committed) {
    for (Stage s : committed) {
      try {
        table.io().deleteFile(s.location());
      } catch (RuntimeException e) {
        // off every chain once committed; orphan removal takes it after lake.maintenance.orphanAge
      }
    }
  }
}
