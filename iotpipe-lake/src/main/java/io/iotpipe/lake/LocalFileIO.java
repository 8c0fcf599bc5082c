package io.iotpipe.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.io.PositionOutputStream;
import org.apache.iceberg.io.SupportsPrefixOperations;

/**
 * A warehouse in a local directory ({@code lake.warehouse: file:/DIR}, one machine, no object store). Hand-written
 * because Iceberg 1.12 has no FileIO for local files ({@code ResolvingFileIO} sends {@code file:} to
 * {@code HadoopFileIO}, whose {@code FileSystem} needs Hadoop's login and metrics stack that the product's trimmed
 * Hadoop leaves out). Reads are Iceberg's own local input files; every written file is fsynced with its directory
 * when closed, so a file the catalog's swap refers to is on disk before the swap (the catalog is the commit point).
 */
public final class LocalFileIO implements FileIO, SupportsPrefixOperations {

  static Path path(String location) {
    String p = location.startsWith("file:") ? location.substring("file:".length()) : location;
    return Path.of(p.startsWith("///") ? p.substring(2) : p); // file:/x and file:///x
  }

  @Override
  public InputFile newInputFile(String location) {
    return new In(location);
  }

  @Override
  public OutputFile newOutputFile(String location) {
    return new Out(location);
  }

  @Override
  public void deleteFile(String location) {
    try {
      Files.deleteIfExists(path(location));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + location + ": " + e.getMessage(), e);
    }
  }

  @Override
  public Iterable<FileInfo> listPrefix(String prefix) {
    Path root = path(prefix);
    Path dir = Files.isDirectory(root) ? root : root.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      return List.of();
    }
    List<FileInfo> out = new ArrayList<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (Files.isRegularFile(p) && p.toString().startsWith(root.toString())) {
          out.add(new FileInfo("file:" + p, Files.size(p), Files.getLastModifiedTime(p).toMillis()));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + prefix + ": " + e.getMessage(), e);
    }
    return out;
  }

  @Override
  public void deletePrefix(String prefix) {
    for (FileInfo f : listPrefix(prefix)) {
      deleteFile(f.location());
    }
  }

  private static final class Out implements OutputFile {
    private final String location;

    Out(String location) {
      this.location = location;
    }

    @Override
    public PositionOutputStream create() {
      return open(false);
    }

    @Override
    public PositionOutputStream createOrOverwrite() {
      return open(true);
    }

    private PositionOutputStream open(boolean overwrite) {
      Path p = path(location);
      try {
        Files.createDirectories(p.getParent());
        FileChannel ch = overwrite
            ? FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)
            : FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return new Synced(p, ch);
      } catch (FileAlreadyExistsException e) {
        throw new AlreadyExistsException("file already exists: %s", location);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create " + location + ": " + e.getMessage(), e);
      }
    }

    @Override
    public String location() {
      return location;
    }

    @Override
    public InputFile toInputFile() {
      return new In(location);
    }
  }

  /**
   * Iceberg's local input file under the location it was asked for: the catalog compares metadata locations as
   * strings, and {@code Files.localInput} would report {@code /x} for {@code file:/x}.
   */
  private record In(String location, InputFile local) implements InputFile {
    In(String location) {
      this(location, org.apache.iceberg.Files.localInput(path(location).toFile()));
    }

    @Override
    public long getLength() {
      return local.getLength();
    }

    @Override
    public org.apache.iceberg.io.SeekableInputStream newStream() {
      return local.newStream();
    }

    @Override
    public boolean exists() {
      return local.exists();
    }
  }

  /** Writes through a channel; {@code close} forces the file and its directory to disk. */
  private static final class Synced extends PositionOutputStream {
    private final Path path;
    private final FileChannel ch;
    private final ByteBuffer one = ByteBuffer.allocate(1);
    private long pos;
    private boolean closed;

    Synced(Path path, FileChannel ch) {
      this.path = path;
      this.ch = ch;
    }

    @Override
    public long getPos() {
      return pos;
    }

    @Override
    public void write(int b) throws IOException {
      one.clear();
      one.put((byte) b).flip();
      write(one);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      write(ByteBuffer.wrap(b, off, len));
    }

    private void write(ByteBuffer buf) throws IOException {
      while (buf.hasRemaining()) {
        pos += ch.write(buf);
      }
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try (ch) {
        ch.force(true);
      }
      try (FileChannel d = FileChannel.open(path.getParent(), StandardOpenOption.READ)) {
        d.force(true);
      } catch (NoSuchFileException | UnsupportedOperationException ignored) {
        // a file system without directory fsync: the file itself is on disk
      }
    }
  }
}
