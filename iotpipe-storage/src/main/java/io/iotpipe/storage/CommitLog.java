package io.iotpipe.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The commit log of one partition (one source queue) under {@code <store>/_state/<source>/}: the durable record of
 * which files belong to the store and which {@code (device, seq)} they hold.
 *
 * <p>Protocol for one commit: data files are written under hidden temp names and fsynced; then the commit record
 * {@code commit-<N>.json} (temp files → final names, and the seq ranges per device) is created atomically — that
 * is the commit point; then the temp files are renamed to their final names, and only then are the messages acked.
 * After a crash:
 * <ul>
 *   <li>before the record: the temp files are orphans (removed later), nothing was acked, the broker redelivers;</li>
 *   <li>after the record, before the renames: {@link #refresh} finishes the renames (roll forward);</li>
 *   <li>after the renames, before the acks: the redelivered messages are found in the ranges and acked without
 *       being written again.</li>
 * </ul>
 * Records are created with a hard link, which fails if the name exists: if another instance took over the partition
 * and committed meanwhile, this one notices, reloads, and drops what the other already stored.
 */
final class CommitLog {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int CHECKPOINT_EVERY = 50;

  record FileMove(Path tmp, Path target) {}

  private final Path store;
  private final Path dir;
  private long lastCommit;
  private final Map<String, SeqRanges> committed = new HashMap<>();

  CommitLog(Path store, String source) {
    this.store = store;
    this.dir = store.resolve("_state").resolve(source);
  }

  long lastCommit() {
    return lastCommit;
  }

  boolean isCommitted(String device, long seq) {
    SeqRanges r = committed.get(device);
    return r != null && r.contains(seq);
  }

  /** Catches up with commits made by anyone (this process before a restart, or another instance). */
  void refresh() throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    TreeMap<Long, Path> records = new TreeMap<>();
    Path checkpoint = null;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (n.startsWith("commit-") && n.endsWith(".json")) {
          records.put(Long.parseLong(n.substring(7, n.length() - 5)), p);
        } else if (n.equals("checkpoint.json")) {
          checkpoint = p;
        }
      }
    }
    if (checkpoint != null) {
      JsonNode cp = JSON.readTree(checkpoint.toFile());
      long base = cp.path("commit").asLong();
      if (base > lastCommit) {
        committed.clear();
        readRanges(cp.path("ranges"));
        lastCommit = base;
      }
    }
    for (var e : records.tailMap(lastCommit, false).entrySet()) {
      JsonNode rec;
      try {
        rec = JSON.readTree(e.getValue().toFile());
      } catch (NoSuchFileException gone) {
        continue; // folded into a checkpoint by another instance meanwhile
      }
      rollForward(rec);
      readRanges(rec.path("ranges"));
      lastCommit = e.getKey();
    }
  }

  private void readRanges(JsonNode ranges) {
    ranges.fields().forEachRemaining(f -> {
      SeqRanges r = committed.computeIfAbsent(f.getKey(), k -> new SeqRanges());
      for (JsonNode pair : f.getValue()) {
        r.addRange(pair.get(0).asLong(), pair.get(1).asLong());
      }
    });
  }

  private void rollForward(JsonNode rec) throws IOException {
    for (JsonNode f : rec.path("files")) {
      Path tmp = store.resolve(f.path("tmp").asText());
      Path target = store.resolve(f.path("file").asText());
      if (Files.exists(tmp) && !Files.exists(target)) {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(target.getParent());
      }
    }
  }

  /**
   * Commits number {@code lastCommit + 1}. Returns false, changing nothing, if that number was taken by someone
   * else (the caller refreshes, filters and tries again).
   */
  boolean commit(List<FileMove> files, Map<String, SeqRanges> delta) throws IOException {
    long n = lastCommit + 1;
    Files.createDirectories(dir);
    ObjectNode rec = JSON.createObjectNode();
    rec.put("commit", n);
    ArrayNode fs = rec.putArray("files");
    for (FileMove f : files) {
      fs.addObject().put("tmp", store.relativize(f.tmp()).toString()).put("file", store.relativize(f.target()).toString());
    }
    writeRanges(rec.putObject("ranges"), delta);
    Path tmp = dir.resolve(".commit-" + n + "-" + ProcessHandle.current().pid() + ".tmp");
    writeSynced(tmp, JSON.writeValueAsBytes(rec));
    try {
      Files.createLink(dir.resolve(String.format("commit-%010d.json", n)), tmp);
    } catch (FileAlreadyExistsException taken) {
      return false;
    } finally {
      Files.deleteIfExists(tmp);
    }
    fsyncDir(dir);
    for (FileMove f : files) {
      Files.move(f.tmp(), f.target(), StandardCopyOption.ATOMIC_MOVE);
    }
    files.stream().map(f -> f.target().getParent()).distinct().forEach(CommitLog::fsyncDirQuietly);
    delta.forEach((d, r) -> committed.computeIfAbsent(d, k -> new SeqRanges()).addAll(r));
    lastCommit = n;
    if (n % CHECKPOINT_EVERY == 0) {
      checkpoint();
    }
    return true;
  }

  /** Folds all records into one checkpoint so the log stays small and a restart reads one file. */
  private void checkpoint() throws IOException {
    ObjectNode cp = JSON.createObjectNode();
    cp.put("commit", lastCommit);
    writeRanges(cp.putObject("ranges"), committed);
    Path tmp = dir.resolve(".checkpoint-" + ProcessHandle.current().pid() + ".tmp");
    writeSynced(tmp, JSON.writeValueAsBytes(cp));
    Files.move(tmp, dir.resolve("checkpoint.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    fsyncDir(dir);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "commit-*.json")) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (Long.parseLong(name.substring(7, name.length() - 5)) <= lastCommit) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static void writeRanges(ObjectNode out, Map<String, SeqRanges> ranges) {
    ranges.forEach((device, r) -> {
      ArrayNode a = out.putArray(device);
      for (long[] p : r.ranges()) {
        a.addArray().add(p[0]).add(p[1]);
      }
    });
  }

  static void writeSynced(Path file, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(bytes));
      ch.force(true);
    }
  }

  static void fsync(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Makes a rename durable: on Linux the directory entry is only on disk once the directory is fsynced. */
  static void fsyncDir(Path d) throws IOException {
    try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private static void fsyncDirQuietly(Path d) {
    try {
      fsyncDir(d);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
