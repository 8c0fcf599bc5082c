package io.iotpipe.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Finds secrets where they must never be: every password and private key a secured run used, searched for in
 * everything the run wrote (logs, reports, JSON, console output). For tests of secured runs.
 */
public final class SecretScan {

  private SecretScan() {}

  /**
   * The secrets under a PKI directory ({@code iotpipe pki init} / {@code device enroll} layout): every
   * {@code *.password} file's content and every line of every {@code *.key} file's base64 body (each line is long
   * enough to be unique, and a leaked key shows at least one of them).
   */
  public static List<String> secretsUnder(Path pkiDir) {
    List<String> secrets = new ArrayList<>();
    try (Stream<Path> s = Files.walk(pkiDir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        String name = p.getFileName().toString();
        if (name.endsWith(".password")) {
          secrets.add(Files.readString(p, StandardCharsets.UTF_8).strip());
        } else if (name.endsWith(".key")) {
          Files.readAllLines(p).stream().filter(l -> !l.startsWith("-----") && l.length() > 40).forEach(secrets::add);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return secrets;
  }

  /**
   * {@code "<file>: <n> secret(s)"} for every file under {@code root} (except those {@code keptApart} names: where
   * secrets live by design, e.g. the PKI directory itself) that contains a secret; empty when there is none.
   */
  public static List<String> findings(Path root, Collection<String> secrets, Predicate<Path> keptApart) {
    List<String> out = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.filter(Files::isRegularFile).filter(keptApart.negate()).toList()) {
        // Bytes as Latin-1: binary files (Parquet, Lucene segments) are searched too, without decoding errors.
        String text = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
        long n = secrets.stream().filter(text::contains).count();
        if (n > 0) {
          out.add(p + ": " + n + " secret(s)");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** How many of {@code secrets} occur in {@code text} (e.g. a run's console output). */
  public static long count(String text, Collection<String> secrets) {
    return secrets.stream().filter(text::contains).count();
  }
}
