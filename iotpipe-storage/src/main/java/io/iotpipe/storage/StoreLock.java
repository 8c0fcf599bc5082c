package io.iotpipe.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One process at a time rewrites the store (compaction, retention): two compactions of the same hour would each
 * delete the inputs and leave two merged copies. An OS file lock rather than a lock file because the kernel
 * releases it when its holder dies, even by {@code kill -9}: no stale lock for an operator to clean up. Local file
 * systems only (NFS locks are advisory at best); the commit protocol itself does not depend on it.
 */
final class StoreLock implements AutoCloseable {

  /** File locks are per process; this keeps two threads of one JVM apart (the JDK would throw instead). */
  private static final ReentrantLock IN_PROCESS = new ReentrantLock();

  private final FileChannel channel;
  private final FileLock lock;

  private StoreLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** The lock of {@code store}, or null when {@code wait} is false and someone else holds it. */
  static StoreLock acquire(Path store, boolean wait) throws IOException {
    if (wait) {
      IN_PROCESS.lock();
    } else if (!IN_PROCESS.tryLock()) {
      return null;
    }
    FileChannel ch = null;
    try {
      Path dir = store.resolve("_state");
      Files.createDirectories(dir);
      ch = FileChannel.open(dir.resolve("housekeeping.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock l;
      try {
        l = wait ? ch.lock() : ch.tryLock();
      } catch (java.nio.channels.OverlappingFileLockException reentered) {
        l = null; // the same thread again, within a round: treat as busy rather than corrupt the round in progress
        if (wait) {
          throw new IOException("the store lock is already held by this thread");
        }
      }
      if (l == null) {
        ch.close();
        IN_PROCESS.unlock();
        return null;
      }
      return new StoreLock(ch, l);
    } catch (IOException | RuntimeException e) {
      if (ch != null) {
        ch.close();
      }
      IN_PROCESS.unlock();
      throw e;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
      channel.close();
    } finally {
      IN_PROCESS.unlock();
    }
  }
}
