package io.iotpipe.cli.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PkiCommandTest {

  private static String run(String... args) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      assertThat(Main.run(args)).as("exit code of %s", String.join(" ", args)).isZero();
    } finally {
      System.setOut(old);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }

  @Test
  void initThenStatusAsJsonAndNoKeyMaterialPrinted(@TempDir Path dir) throws Exception {
    Path pki = dir.resolve("pki");
    String init = run("pki", "init", "--dir", pki.toString());
    assertThat(init).contains("created a fleet CA");
    assertThat(run("pki", "init", "--dir", pki.toString())).contains("kept the existing fleet CA");
    JsonNode st = new ObjectMapper().readTree(run("pki", "status", "--dir", pki.toString(), "--json"));
    assertThat(st.get("total").asInt()).isEqualTo(2);
    assertThat(st.get("expired").asInt()).isZero();
    assertThat(st.get("certificates").get(0).get("daysLeft").asLong()).isGreaterThan(700);
    try (Stream<Path> keys = Files.list(pki)) {
      for (Path k : keys.filter(p -> p.toString().endsWith(".key")).toList()) {
        String body = Files.readAllLines(k).get(1);
        assertThat(init + st).doesNotContain(body);
      }
    }
  }
}
