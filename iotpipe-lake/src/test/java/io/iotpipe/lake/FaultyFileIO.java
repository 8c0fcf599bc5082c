package io.iotpipe.lake;

import java.io.IOException;
import java.util.Map;
import org.apache.iceberg.aws.s3.S3FileIO;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.io.PositionOutputStream;

/**
 * The real {@link S3FileIO} with faults at chosen uploads (configured as the catalog's {@code io-impl}, so metadata
 * files written inside the catalog's commit pass through it too). A fault fires when an upload completes (the
 * stream's close, where S3FileIO sends the object): the object never reaches the server.
 */
public final class FaultyFileIO implements FileIO, org.apache.iceberg.io.SupportsPrefixOperations {

  static final String FAULTS_ID = "iotpipe.test.faults-id";

  private final S3FileIO delegate = new S3FileIO();
  private Faults faults;

  @Override
  public void initialize(Map<String, String> properties) {
    delegate.initialize(properties);
    faults = properties.containsKey(FAULTS_ID) ? Faults.byId(properties.get(FAULTS_ID)) : null;
  }

  @Override
  public Map<String, String> properties() {
    return delegate.properties();
  }

  @Override
  public InputFile newInputFile(String path) {
    check();
    return delegate.newInputFile(path);
  }

  @Override
  public InputFile newInputFile(String path, long length) {
    check();
    return delegate.newInputFile(path, length);
  }

  @Override
  public OutputFile newOutputFile(String path) {
    check();
    OutputFile out = delegate.newOutputFile(path);
    Faults.Step step = stepOf(path);
    if (faults == null || step == null) {
      return out;
    }
    return new OutputFile() {
      @Override
      public PositionOutputStream create() {
        return guard(out.create());
      }

      @Override
      public PositionOutputStream createOrOverwrite() {
        return guard(out.createOrOverwrite());
      }

      @Override
      public String location() {
        return out.location();
      }

      @Override
      public InputFile toInputFile() {
        return out.toInputFile();
      }

      private PositionOutputStream guard(PositionOutputStream s) {
        return new PositionOutputStream() {
          @Override
          public long getPos() throws IOException {
            return s.getPos();
          }

          @Override
          public void write(int b) throws IOException {
            s.write(b);
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            s.write(b, off, len);
          }

          @Override
          public void flush() throws IOException {
            s.flush();
          }

          @Override
          public void close() throws IOException {
            faults.at(step);
            s.close();
            if (step == Faults.Step.STAGE_RECORD) {
              faults.at(Faults.Step.STAGE_RECORD_ANSWER_LOST); // uploaded, but the writer hears an error
            }
          }
        };
      }
    };
  }

  static Faults.Step stepOf(String path) {
    String name = path.substring(path.lastIndexOf('/') + 1);
    if (path.contains(HandOff.DIR)) {
      return Faults.Step.STAGE_RECORD;
    } else if (path.contains("/iotpipe-state/")) {
      return Faults.Step.STATE_FILE;
    } else if (path.contains("/data/")) {
      return Faults.Step.DATA_FILE;
    } else if (name.endsWith(".metadata.json")) {
      return Faults.Step.METADATA_FILE;
    } else if (name.startsWith("snap-") && name.endsWith(".avro")) {
      return Faults.Step.MANIFEST_LIST;
    } else if (name.endsWith(".avro")) {
      return Faults.Step.MANIFEST;
    }
    return null;
  }

  @Override
  public Iterable<org.apache.iceberg.io.FileInfo> listPrefix(String prefix) {
    check();
    return delegate.listPrefix(prefix);
  }

  @Override
  public void deletePrefix(String prefix) {
    check();
    delegate.deletePrefix(prefix);
  }

  @Override
  public void deleteFile(String path) {
    check();
    delegate.deleteFile(path);
  }

  private void check() {
    if (faults != null) {
      faults.checkAlive();
    }
  }

  @Override
  public void close() {
    delegate.close();
  }
}
