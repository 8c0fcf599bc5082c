package io.iotpipe.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.storage.CommitSteps.Step;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The store's commit log, one for the whole store directory ({@code <store>/_state/log/}), shared by every writer:
 * all partition queues of one instance, other instances, other regions' instances on the same directory. It is the
 * durable record of which files belong to the store and which {@code (deviceId, seq)} they hold, so that key is
 * unique in the whole store.
 *
 * <h2>One commit</h2>
 * <ol>
 *   <li>Outside any lock: data files are written under hidden temp names and fsynced; the commit record (files and,
 *       per device, seq ranges with a 64-bit content fingerprint per row) is written and fsynced under a temp name.</li>
 *   <li>Under the store-wide commit lock (an OS file lock, so other processes too): catch up with records written
 *       by others since the last look, drop the commit if any of its keys was committed meanwhile (the caller
 *       filters and tries again), link the record as {@code commit-N.json} — <b>the commit point</b> — and fsync
 *       the log directory. Check and link under one lock: two writers can never both commit one key.</li>
 *   <li>After the lock: rename the temp files to their final names and fsync their directories; then the rows are
 *       acked.</li>
 * </ol>
 * After the commit point nothing is undone: a failing rename or fsync is retried at once, then on every later commit,
 * tick, {@code open} and start ({@link #finish}); a committed temp file is never deleted. Whoever reads a record
 * (another writer catching up, a restart) also finishes its renames, so a crashed writer's commit is completed by
 * the next one. A committed file with neither its temp nor its final name is an alarm: the rows it claims are
 * neither readable nor acked.
 *
 * <h2>The record</h2>
 * <pre>{@code
 * _state/log/commit-000000000042.json
 * {"format":2, "source":"iotpipe.storage.p3",
 *  "files":[{"tmp":"date=2026-11-20/hour=10/.iotpipe.storage.p3-1795609372102-f8f1b1834cd9fdf4.parquet.tmp",
 *            "file":"date=2026-11-20/hour=10/iotpipe.storage.p3-1795609372102-f8f1b1834cd9fdf4.parquet"}],
 *  "rows":{"dev-17":{"seqs":[[120,131]], "fp":"<base64: 8 bytes per seq, ascending>"}}}
 * }</pre>
 * File names carry the ingest time and 64 random bits, not the commit number: the files are written before the lock
 * that hands out the number. The fingerprint ({@link Fingerprint}) is per row, not per range, because a redelivery
 * comes one reading at a time and must be compared on its own; 8 bytes (11 characters) per row keep a record of a
 * 2,500-row roll near 50 KB (about 20 bytes per row with the JSON around them), written and fsynced outside the lock
 * like the data. Checkpoints keep only the ranges (a
 * few bytes per device): fingerprints of folded records are read from the newer records still in the log, or
 * compared with the stored row itself ({@link StoredContent}).
 *
 * <p>Every {@value #CHECKPOINT_EVERY} commits, when every file of the log is in place, a checkpoint folds the seq
 * ranges of all records; records older than the previous checkpoint are deleted, so the log stays small and a start
 * reads one checkpoint and at most ~{@value #CHECKPOINT_EVERY}×2 records.
 */
final class CommitLog {

  private static final ObjectMapper JSON = new ObjectMapper();
  static final int CHECKPOINT_EVERY = 50;
  /**
   * Content fingerprints kept in memory, the most recent rows of the whole store: redeliveries (lost acks, crashes,
   * a shovel resending to the other region) come within the prefetch windows of the partitions, far below this.
   * About 15 MB. An older key whose fingerprint has left the window is known as stored but cannot be compared.
   */
  static final int FINGERPRINT_WINDOW = 100_000;
  private static final long[] RETRY_PAUSE_MS = {0, 20, 200};
  private static final long ORPHAN_AGE_MS = TimeUnit.MINUTES.toMillis(10);
  private static final Map<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

  record FileMove(Path tmp, Path target) {}

  /** What the store knows of one key. */
  enum Known { NEW, SAME, DIFFERENT, UNVERIFIED, UNFINISHED, ALARM }

  record Verdict(Known known, String reason) {
    static final Verdict NEW = new Verdict(Known.NEW, "");
  }

  /** One commit's files and rows, prepared outside the lock. */
  static final class Prepared {
    final String source;
    final List<FileMove> files = new ArrayList<>();
    /** device -> seq -> fingerprint */
    final Map<String, TreeMap<Long, Long>> rows = new HashMap<>();
    Path recordTmp;

    Prepared(String source) {
      this.source = source;
    }

    void add(String device, long seq, long fp) {
      rows.computeIfAbsent(device, k -> new TreeMap<>()).put(seq, fp);
    }
  }

  /** A linked record whose files are not all in place and durable yet (or vanished: {@link #alarm}). */
  static final class Claim {
    final String record;
    final List<FileMove> files;
    final Map<String, SeqRanges> ranges;
    volatile boolean logDirSynced;
    volatile String error;
    volatile String alarm;

    Claim(String record, List<FileMove> files, Map<String, SeqRanges> ranges, boolean logDirSynced) {
      this.record = record;
      this.files = files;
      this.ranges = ranges;
      this.logDirSynced = logDirSynced;
    }

    boolean covers(String device, long seq) {
      SeqRanges r = ranges.get(device);
      return r != null && r.contains(seq);
    }
  }

  private final Path store;
  private final Path logDir;
  private final Path lockFile;
  private final CommitSteps steps;
  private final Consumer<Claim> onAlarm;

  // The index, guarded by this.
  private long last;
  private boolean loaded;
  private final Map<String, SeqRanges> committed = new HashMap<>();
  private final LinkedHashMap<String, Long> fingerprints = new LinkedHashMap<>(1 << 16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      return size() > FINGERPRINT_WINDOW;
    }
  };
  private final List<Claim> unfinished = new ArrayList<>();
  private final List<Claim> alarms = new ArrayList<>();
  /** Data directories that received files since the last checkpoint: fsynced before it folds their records. */
  private final Set<Path> dirsSinceCheckpoint = new HashSet<>();
  private long lastCheckpoint;

  CommitLog(Path store, CommitSteps steps, Consumer<Claim> onAlarm) {
    this.store = store;
    this.logDir = logDir(store);
    this.lockFile = store.resolve("_state").resolve("commit.lock");
    this.steps = steps;
    this.onAlarm = onAlarm;
  }

  CommitSteps steps() {
    return steps;
  }

  static Path logDir(Path store) {
    return store.resolve("_state").resolve("log");
  }

  // ---------------------------------------------------------------------------------------------- lookups

  /** What the store knows of {@code (device, seq)} whose content has fingerprint {@code fp}. */
  synchronized Verdict lookup(String device, long seq, long fp) {
    for (Claim c : alarms) {
      if (c.covers(device, seq)) {
        return new Verdict(Known.ALARM, c.alarm);
      }
    }
    for (Claim c : unfinished) {
      if (c.covers(device, seq)) {
        return new Verdict(Known.UNFINISHED, "committed in " + c.record + " but not yet readable (" + c.error
            + "); the commit is finished as soon as the disk allows, then this reading is acked");
      }
    }
    SeqRanges r = committed.get(device);
    if (r == null || !r.contains(seq)) {
      return Verdict.NEW;
    }
    Long stored = fingerprints.get(device + ":" + seq);
    if (stored == null) {
      return new Verdict(Known.UNVERIFIED, "");
    }
    return stored == fp ? new Verdict(Known.SAME, "") : new Verdict(Known.DIFFERENT, conflict(device, seq));
  }

  /** The reject reason of a reading whose key is stored with other content. */
  static String conflict(String device, long seq) {
    return "(deviceId, seq) (" + device + ", " + seq + ") already stored with different content; the store keeps the first reading";
  }

  synchronized boolean hasUnfinished() {
    return !unfinished.isEmpty();
  }

  synchronized List<Claim> unfinished() {
    return List.copyOf(unfinished);
  }

  synchronized List<Claim> alarms() {
    return List.copyOf(alarms);
  }

  // ---------------------------------------------------------------------------------------------- lifecycle

  /** Catches up with every writer's commits, finishes interrupted ones (anyone's) and sweeps old orphan temp files. */
  void open(boolean sweep) throws IOException {
    withLock(() -> {
      refreshLocked();
      for (Claim c : unfinished()) {
        finish(c);
      }
      if (sweep) {
        sweepOrphansLocked();
      }
      return null;
    });
  }

  /**
   * Tries again to finish commits whose renames or fsyncs failed, and clears alarms whose files an operator restored.
   */
  void retryUnfinished() throws IOException {
    for (Claim c : alarms()) {
      if (c.files.stream().allMatch(f -> Files.exists(f.target()))) {
        synchronized (this) {
          alarms.remove(c);
        }
      }
    }
    if (hasUnfinished()) {
      withLock(() -> {
        for (Claim c : unfinished()) {
          finish(c);
        }
        return null;
      });
    }
  }

  // ---------------------------------------------------------------------------------------------- commit

  /** Writes and fsyncs the record of {@code p} under a temp name (before the lock: it is most of the record's cost). */
  void writeRecord(Prepared p) throws IOException {
    ObjectNode rec = JSON.createObjectNode();
    rec.put("format", 2);
    rec.put("source", p.source);
    ArrayNode fs = rec.putArray("files");
    for (FileMove f : p.files) {
      fs.addObject().put("tmp", rel(f.tmp())).put("file", rel(f.target()));
    }
    ObjectNode rows = rec.putObject("rows");
    p.rows.forEach((device, seqs) -> {
      ObjectNode d = rows.putObject(device);
      SeqRanges r = new SeqRanges();
      ByteBuffer fps = ByteBuffer.allocate(8 * seqs.size());
      seqs.forEach((seq, fp) -> {
        r.add(seq);
        fps.putLong(fp);
      });
      ArrayNode a = d.putArray("seqs");
      r.ranges().forEach(x -> a.addArray().add(x[0]).add(x[1]));
      d.put("fp", Base64.getEncoder().withoutPadding().encodeToString(fps.array()));
    });
    Files.createDirectories(logDir);
    Path tmp = logDir.resolve(".rec-" + java.util.UUID.randomUUID() + ".tmp");
    steps.before(Step.WRITE_RECORD, tmp);
    writeSynced(tmp, JSON.writeValueAsBytes(rec));
    p.recordTmp = tmp;
  }

  /**
   * Links the record of {@code p} (see the class comment). Returns null, having committed nothing, when one of its keys
   * was committed by someone meanwhile; throws when it failed before the commit point (nothing committed: the
   * caller may delete its temp files). From the returned claim on, the rows are committed: {@link #finish} it.
   */
  Claim commit(Prepared p) throws IOException {
    return withLock(() -> {
      refreshLocked();
      if (anyCommitted(p)) {
        return null;
      }
      long n;
      Path rec;
      while (true) {
        n = last + 1;
        rec = logDir.resolve(recordName(n));
        try {
          steps.before(Step.LINK_RECORD, rec);
          Files.createLink(rec, p.recordTmp);
          break;
        } catch (FileAlreadyExistsException taken) {
          // Only a writer ignoring the lock could do this; catch up and check again all the same.
          refreshLocked();
          if (anyCommitted(p)) {
            return null;
          }
        } catch (IOException e) {
          if (Files.exists(rec) && Files.isSameFile(rec, p.recordTmp)) {
            break; // the link is there although the call reported an error: committed
          }
          throw e;
        }
      }
      quietly(() -> Files.deleteIfExists(p.recordTmp));
      Map<String, SeqRanges> ranges = new HashMap<>();
      synchronized (this) {
        p.rows.forEach((device, seqs) -> {
          SeqRanges r = new SeqRanges();
          seqs.keySet().forEach(r::add);
          ranges.put(device, r);
          committed.computeIfAbsent(device, k -> new SeqRanges()).addAll(r);
          seqs.forEach((seq, fp) -> fingerprints.put(device + ":" + seq, fp));
        });
        last = n;
        p.files.forEach(f -> dirsSinceCheckpoint.add(f.target().getParent()));
      }
      Claim c = new Claim(rec.getFileName().toString(), List.copyOf(p.files), ranges, false);
      try {
        // Durable before the lock is released: others drop their copies of these keys on the strength of it.
        retryingRun(Step.FSYNC_LOG_DIR, logDir, () -> fsyncDir(logDir));
        c.logDirSynced = true;
      } catch (IOException e) {
        c.error = describe(e);
        synchronized (this) {
          unfinished.add(c);
        }
      }
      return c;
    });
  }

  private synchronized boolean anyCommitted(Prepared p) {
    for (var e : p.rows.entrySet()) {
      SeqRanges r = committed.get(e.getKey());
      if (r != null) {
        for (long seq : e.getValue().keySet()) {
          if (r.contains(seq)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * Puts every file of a committed record in place and makes it durable; retries a failing step a few times.
   * Returns true when the rows are readable; false when a step still fails (the claim stays unfinished and is tried
   * again later) or a file is missing (alarm). Never undoes anything.
   */
  boolean finish(Claim c) {
    synchronized (c) {
      if (c.alarm != null) {
        return false;
      }
      try {
        if (!c.logDirSynced) {
          retryingRun(Step.FSYNC_LOG_DIR, logDir, () -> fsyncDir(logDir));
          c.logDirSynced = true;
        }
        Set<Path> moved = new java.util.LinkedHashSet<>();
        for (FileMove f : c.files) {
          boolean[] did = new boolean[1];
          boolean present = retrying(Step.RENAME, f.target(), () -> place(f, did));
          if (!present && !foldedSince(c)) {
            alarm(c, f);
            return false;
          }
          if (did[0]) {
            moved.add(f.target().getParent());
          }
        }
        for (Path d : moved) {
          retryingRun(Step.FSYNC_DATA_DIR, d, () -> fsyncDir(d));
        }
        c.error = null;
        synchronized (this) {
          unfinished.remove(c);
        }
        return true;
      } catch (IOException e) {
        c.error = describe(e);
        synchronized (this) {
          if (!unfinished.contains(c)) {
            unfinished.add(c);
          }
        }
        return false;
      }
    }
  }

  /** Renames one committed file into place unless it is there; false when neither name exists. */
  private boolean place(FileMove f, boolean[] moved) throws IOException {
    if (Files.exists(f.target())) {
      return true;
    }
    steps.before(Step.RENAME, f.target());
    try {
      Files.move(f.tmp(), f.target(), StandardCopyOption.ATOMIC_MOVE);
      moved[0] = true;
      return true;
    } catch (NoSuchFileException e) {
      // Another writer catching up may have renamed it a moment ago.
      if (Files.exists(f.target())) {
        return true;
      }
      if (!Files.exists(f.tmp())) {
        return false;
      }
      throw e;
    }
  }

  /**
   * Whether a checkpoint folded this record since: its writer placed every file first, and compaction may have
   * merged them away since (a writer that stalled between its commit point and its renames sees that).
   */
  private boolean foldedSince(Claim c) throws IOException {
    long n = numberOf(c.record, "commit-");
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(logDir, "checkpoint-*.json")) {
      for (Path p : ds) {
        if (numberOf(p.getFileName().toString(), "checkpoint-") >= n) {
          return true;
        }
      }
    }
    return false;
  }

  private void alarm(Claim c, FileMove f) {
    c.alarm = "committed file " + rel(f.target()) + " (" + c.record + ") is missing: neither it nor its temp file "
        + rel(f.tmp()) + " exists; its readings are not acked. Restore the file, or remove "
        + rel(logDir.resolve(c.record)) + " and restart the store instances so they are written again";
    synchronized (this) {
      unfinished.remove(c);
      if (!alarms.contains(c)) {
        alarms.add(c);
      }
    }
    onAlarm.accept(c);
  }

  /** After a commit, under the lock now and then: folds the log into a checkpoint (see the class comment). */
  void maybeCheckpoint() throws IOException {
    synchronized (this) {
      if (last - lastCheckpoint < CHECKPOINT_EVERY || !unfinished.isEmpty() || !alarms.isEmpty()) {
        return; // the common case, without taking the lock again
      }
    }
    withLock(() -> {
      synchronized (this) {
        if (last - lastCheckpoint < CHECKPOINT_EVERY || !unfinished.isEmpty() || !alarms.isEmpty()) {
          return null;
        }
      }
      refreshLocked();
      checkpointLocked();
      return null;
    });
  }

  /**
   * For compaction and retention: folds every record into a checkpoint now (when all their files are in place), so
   * that all committed files but those of commits made after this call may be merged or dropped.
   */
  static void checkpointNow(Path store) throws IOException {
    CommitLog log = new CommitLog(store, CommitSteps.NONE, c -> {});
    log.withLock(() -> {
      log.refreshLocked();
      log.checkpointLocked();
      return null;
    });
  }

  private void checkpointLocked() throws IOException {
    List<Path> dirs;
    ObjectNode cp = JSON.createObjectNode();
    long at;
    synchronized (this) {
      if (!unfinished.isEmpty() || !alarms.isEmpty() || last <= lastCheckpoint) {
        return;
      }
      dirs = new ArrayList<>(dirsSinceCheckpoint);
      at = last;
      cp.put("commit", at);
      ObjectNode ranges = cp.putObject("ranges");
      committed.forEach((device, r) -> {
        ArrayNode a = ranges.putArray(device);
        r.ranges().forEach(x -> a.addArray().add(x[0]).add(x[1]));
      });
    }
    // Renames done by others' writers may not be durable yet; after the checkpoint nobody would redo them.
    for (Path d : dirs) {
      if (Files.isDirectory(d)) {
        steps.before(Step.UPKEEP, d);
        fsyncDir(d);
      }
    }
    Path tmp = logDir.resolve(".checkpoint-" + java.util.UUID.randomUUID() + ".tmp");
    steps.before(Step.UPKEEP, tmp);
    writeSynced(tmp, JSON.writeValueAsBytes(cp));
    Files.move(tmp, logDir.resolve(checkpointName(at)), StandardCopyOption.ATOMIC_MOVE);
    fsyncDir(logDir);
    long previous;
    synchronized (this) {
      dirsSinceCheckpoint.clear();
      previous = lastCheckpoint;
      lastCheckpoint = at;
    }
    // Records up to the previous checkpoint go; the newer ones stay a while so a restart still has their
    // fingerprints.
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(logDir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        long n = numberOf(name, "commit-");
        long c = numberOf(name, "checkpoint-");
        if ((n > 0 && n <= previous) || (c > 0 && c < at)) {
          steps.before(Step.UPKEEP, p);
          Files.deleteIfExists(p);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- catching up

  /** Reads what others committed since the last look and finishes their renames if they could not. Under the lock. */
  private void refreshLocked() throws IOException {
    boolean first;
    synchronized (this) {
      first = !loaded;
      loaded = true;
    }
    if (first) {
      importLegacy();
    }
    if (!Files.isDirectory(logDir)) {
      return;
    }
    TreeMap<Long, Path> records = new TreeMap<>();
    long checkpoint = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(logDir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        long n = numberOf(name, "commit-");
        if (n > 0) {
          records.put(n, p);
        }
        checkpoint = Math.max(checkpoint, numberOf(name, "checkpoint-"));
      }
    }
    long from;
    synchronized (this) {
      from = last;
      lastCheckpoint = Math.max(lastCheckpoint, checkpoint);
    }
    if (checkpoint > from && records.subMap(from, false, checkpoint, true).size() < checkpoint - from) {
      // Records we never saw were folded: take the checkpoint (a superset of what we hold).
      JsonNode cp = JSON.readTree(logDir.resolve(checkpointName(checkpoint)).toFile());
      synchronized (this) {
        mergeRanges(cp.path("ranges"));
      }
    }
    for (var e : records.tailMap(from, false).entrySet()) {
      long n = e.getKey();
      JsonNode rec = JSON.readTree(e.getValue().toFile());
      Map<String, SeqRanges> ranges = new HashMap<>();
      List<FileMove> files = new ArrayList<>();
      for (JsonNode f : rec.path("files")) {
        files.add(new FileMove(store.resolve(f.path("tmp").asText()), store.resolve(f.path("file").asText())));
      }
      synchronized (this) {
        rec.path("rows").fields().forEachRemaining(d -> {
          SeqRanges r = new SeqRanges();
          for (JsonNode pair : d.getValue().path("seqs")) {
            r.addRange(pair.get(0).asLong(), pair.get(1).asLong());
          }
          ranges.put(d.getKey(), r);
          committed.computeIfAbsent(d.getKey(), k -> new SeqRanges()).addAll(r);
          ByteBuffer fps = ByteBuffer.wrap(Base64.getDecoder().decode(d.getValue().path("fp").asText("")));
          for (long[] x : r.ranges()) {
            for (long s = x[0]; s <= x[1] && fps.remaining() >= 8; s++) {
              fingerprints.put(d.getKey() + ":" + s, fps.getLong());
            }
          }
        });
        last = n;
        files.forEach(f -> dirsSinceCheckpoint.add(f.target().getParent()));
      }
      if (n > checkpoint) {
        // Folded records were put in place by the checkpoint's writer (and may be compacted since); newer ones may
        // belong to a writer that crashed after its commit point: finish them.
        Claim c = new Claim(e.getValue().getFileName().toString(), files, ranges, true);
        finish(c);
      }
    }
    synchronized (this) {
      last = Math.max(last, checkpoint);
    }
  }

  private void mergeRanges(JsonNode ranges) {
    ranges.fields().forEachRemaining(f -> {
      SeqRanges r = committed.computeIfAbsent(f.getKey(), k -> new SeqRanges());
      for (JsonNode pair : f.getValue()) {
        r.addRange(pair.get(0).asLong(), pair.get(1).asLong());
      }
    });
  }

  /**
   * Stores written before the store-wide log kept one log per partition queue ({@code _state/<queue>/}): their
   * ranges still count, so an upgrade does not store again what is there.
   */
  private void importLegacy() throws IOException {
    Path state = store.resolve("_state");
    if (!Files.isDirectory(state)) {
      return;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(state, Files::isDirectory)) {
      for (Path dir : ds) {
        String name = dir.getFileName().toString();
        if (name.equals("log") || name.startsWith("_") || name.startsWith(".")) {
          continue;
        }
        Path cp = dir.resolve("checkpoint.json");
        long base = 0;
        if (Files.exists(cp)) {
          JsonNode node = JSON.readTree(cp.toFile());
          base = node.path("commit").asLong();
          synchronized (this) {
            mergeRanges(node.path("ranges"));
          }
        }
        try (DirectoryStream<Path> recs = Files.newDirectoryStream(dir, "commit-*.json")) {
          for (Path r : recs) {
            if (numberOf(r.getFileName().toString(), "commit-") <= base) {
              continue;
            }
            JsonNode rec = JSON.readTree(r.toFile());
            for (JsonNode f : rec.path("files")) {
              Path tmp = store.resolve(f.path("tmp").asText());
              Path target = store.resolve(f.path("file").asText());
              if (Files.exists(tmp) && !Files.exists(target)) {
                steps.before(Step.RENAME, target);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                fsyncDir(target.getParent());
              }
            }
            synchronized (this) {
              mergeRanges(rec.path("ranges"));
            }
          }
        }
      }
    }
  }

  /** Temp files older than {@link #ORPHAN_AGE_MS} that no commit claims: left by a crash before a commit point. */
  private void sweepOrphansLocked() {
    Set<Path> claimed = new HashSet<>();
    unfinished().forEach(c -> c.files.forEach(f -> claimed.add(f.tmp().toAbsolutePath().normalize())));
    long cutoff = System.currentTimeMillis() - ORPHAN_AGE_MS;
    try (var walk = Files.walk(store, 3)) {
      walk.filter(f -> {
        String n = f.getFileName().toString();
        return n.startsWith(".") && n.endsWith(".tmp") && !claimed.contains(f.toAbsolutePath().normalize());
      }).forEach(f -> quietly(() -> {
        if (Files.getLastModifiedTime(f).toMillis() < cutoff) {
          steps.before(Step.UPKEEP, f);
          Files.deleteIfExists(f);
        }
        return null;
      }));
    } catch (IOException | java.io.UncheckedIOException e) {
      // the next open sweeps again
    }
  }

  /**
   * Files that a commit record newer than the latest checkpoint names (for compaction and retention, which must not
   * touch them: a writer catching up would find them gone and raise an alarm).
   */
  static Set<Path> unfoldedFiles(Path store) throws IOException {
    Set<Path> out = new HashSet<>();
    Path dir = logDir(store);
    if (!Files.isDirectory(dir)) {
      return out;
    }
    long checkpoint = 0;
    List<Path> records = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        checkpoint = Math.max(checkpoint, numberOf(name, "checkpoint-"));
        if (numberOf(name, "commit-") > 0) {
          records.add(p);
        }
      }
    }
    for (Path r : records) {
      if (numberOf(r.getFileName().toString(), "commit-") > checkpoint) {
        try {
          for (JsonNode f : JSON.readTree(r.toFile()).path("files")) {
            out.add(store.resolve(f.path("file").asText()).toAbsolutePath().normalize());
          }
        } catch (NoSuchFileException folded) {
          // folded into a checkpoint meanwhile
        }
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------- plumbing

  @FunctionalInterface
  interface IoCall<T> {
    T call() throws IOException;
  }

  @FunctionalInterface
  private interface IoRun {
    void run() throws IOException;
  }

  /**
   * Runs {@code body} holding the store-wide commit lock: an OS file lock (other processes; the kernel releases it
   * when its holder dies, even by {@code kill -9}) plus an in-process lock per store (file locks are per process).
   */
  <T> T withLock(IoCall<T> body) throws IOException {
    ReentrantLock local = IN_PROCESS.computeIfAbsent(store.toAbsolutePath().normalize(), k -> new ReentrantLock());
    local.lock();
    try {
      if (local.getHoldCount() > 1) {
        return body.call();
      }
      Files.createDirectories(lockFile.getParent());
      try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
           FileLock ignored = ch.lock()) {
        return body.call();
      }
    } finally {
      local.unlock();
    }
  }

  private <T> T retrying(Step step, Path path, IoCall<T> action) throws IOException {
    IOException failure = null;
    for (long pause : RETRY_PAUSE_MS) {
      if (pause > 0) {
        try {
          Thread.sleep(pause);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      try {
        if (step != Step.RENAME) {
          steps.before(step, path); // place() calls the seam itself, only when it really renames
        }
        return action.call();
      } catch (IOException e) {
        failure = e;
      }
    }
    throw failure != null ? failure : new IOException(step + " of " + path + " interrupted");
  }

  private void retryingRun(Step step, Path path, IoRun action) throws IOException {
    retrying(step, path, () -> {
      action.run();
      return null;
    });
  }

  private static void quietly(IoCall<?> c) {
    try {
      c.call();
    } catch (IOException ignored) {
      // best effort: the orphan sweep removes what is left
    }
  }

  private String rel(Path p) {
    return store.relativize(p).toString();
  }

  static String describe(Exception e) {
    return e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  static String recordName(long n) {
    return String.format("commit-%012d.json", n);
  }

  private static String checkpointName(long n) {
    return String.format("checkpoint-%012d.json", n);
  }

  /** The number in {@code <prefix><digits>.json}, or 0. */
  static long numberOf(String name, String prefix) {
    if (!name.startsWith(prefix) || !name.endsWith(".json")) {
      return 0;
    }
    try {
      return Long.parseLong(name.substring(prefix.length(), name.length() - 5));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  static void writeSynced(Path file, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
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
}
