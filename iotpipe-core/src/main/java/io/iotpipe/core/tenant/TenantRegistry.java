package io.iotpipe.core.tenant;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The trusted device-to-tenant mapping: a text file of {@code deviceId<TAB>tenant} lines that {@code iotpipe device
 * enroll --tenant} writes (the same tenant goes into the device's certificate) and the pipeline reads. The runtime
 * stamps every reading with its device's tenant from here, never from the reading: a device controls its body, not
 * this file.
 *
 * <p>Why a file and not the broker or the certificate at the sinks: the sink roles never see the device's
 * certificate (the shovel forwards the readings), and a file needs no server; it is rewritten atomically (a temporary
 * file renamed over it, under an OS lock beside it), so a reader sees the old or the new mapping, never half.
 */
public final class TenantRegistry {

  private final Path file;
  /** The last mapping read and the version of the file it was read from. */
  private volatile Snapshot snapshot;
  /** Reloads are checked at most this often on a miss (a device enrolled after the last read). */
  private static final long RECHECK_NANOS = 200_000_000L;

  /**
   * Which file a mapping was read from: every write renames a new file over the old one, so its inode (file key)
   * changes even when two writes fall into one tick of a coarse modification-time clock.
   */
  private record Version(Object fileKey, FileTime modified, long size) {
    static Version of(Path file) throws IOException {
      java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
      return new Version(a.fileKey(), a.lastModifiedTime(), a.size());
    }
  }

  private record Snapshot(Map<String, String> devices, Version version, long checkedAt) {}

  public TenantRegistry(Path file) {
    this.file = file;
    this.snapshot = new Snapshot(Map.of(), null, System.nanoTime() - 2 * RECHECK_NANOS);
    reloadIfChanged(snapshot);
  }

  public Path file() {
    return file;
  }

  /**
   * The tenant of {@code deviceId}, or null when it has none. Re-reads the file when it changed, at most every
   * 200 ms, so a device enrolled while the pipeline runs gets its tenant from its first reading on.
   */
  public String tenantOf(String deviceId) {
    Snapshot s = snapshot;
    if (System.nanoTime() - s.checkedAt() >= RECHECK_NANOS) {
      s = reloadIfChanged(s);
    }
    return s.devices().get(deviceId);
  }

  private synchronized Snapshot reloadIfChanged(Snapshot seen) {
    Snapshot s = snapshot;
    if (s != seen) {
      return s;
    }
    Version version;
    try {
      version = Version.of(file);
    } catch (NoSuchFileException e) {
      snapshot = new Snapshot(Map.of(), null, System.nanoTime());
      return snapshot;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the tenant registry " + file + ": " + e.getMessage(), e);
    }
    Map<String, String> devices = version.equals(s.version()) ? s.devices() : read(file);
    snapshot = new Snapshot(devices, version, System.nanoTime());
    return snapshot;
  }

  /** Every device and its tenant, sorted by device id. */
  public Map<String, String> devices() {
    return Collections.unmodifiableMap(read(file));
  }

  /** Assigns {@code deviceIds} to {@code tenant} (replacing an earlier assignment), atomically. */
  public void assign(List<String> deviceIds, String tenant) {
    TenantId.check(tenant);
    update(m -> deviceIds.forEach(d -> m.put(d, tenant)));
  }

  /** Removes {@code deviceIds} from the registry (revoked devices). */
  public void remove(List<String> deviceIds) {
    update(m -> deviceIds.forEach(m::remove));
  }

  private void update(java.util.function.Consumer<Map<String, String>> change) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      try (FileChannel lock = FileChannel.open(dir.resolve(file.getFileName() + ".lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE); FileLock ignored = lock.lock()) {
        Map<String, String> m = new TreeMap<>(read(file));
        change.accept(m);
        StringBuilder sb = new StringBuilder("# iotpipe tenant registry: deviceId<TAB>tenant (written by iotpipe device enroll --tenant)\n");
        m.forEach((d, t) -> sb.append(d).append('\t').append(t).append('\n'));
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        Files.writeString(tmp, sb, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        // this instance sees its own write at once (an enrolling process asks right after)
        synchronized (this) {
          snapshot = new Snapshot(Map.copyOf(m), Version.of(file), System.nanoTime());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the tenant registry " + file + ": " + e.getMessage(), e);
    }
  }

  static Map<String, String> read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return Map.of();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the tenant registry " + file + ": " + e.getMessage(), e);
    }
    Map<String, String> m = new TreeMap<>();
    int n = 0;
    for (String line : lines) {
      n++;
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int tab = line.indexOf('\t');
      String tenant = tab < 0 ? null : line.substring(tab + 1).strip();
      if (tab <= 0 || !TenantId.valid(tenant)) {
        // A broken registry must stop the pipeline, not silently give readings no tenant (or the wrong one).
        throw new IllegalStateException("tenant registry " + file + " line " + n + " is not 'deviceId<TAB>tenant' with a tenant of "
            + TenantId.RULE + ": fix or re-create it with iotpipe device enroll --tenant");
      }
      m.put(line.substring(0, tab), tenant);
    }
    return m;
  }
}
