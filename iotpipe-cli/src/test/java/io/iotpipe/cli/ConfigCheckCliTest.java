package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.cli.CliTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code iotpipe config check} and {@code config reference} as a user meets them: exit codes, messages, no stack traces. */
class ConfigCheckCliTest {

  private static final String SOUND = """
      brokers:
        edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
        cloud: {uris: [amqp://127.0.0.1:5673]}
      topology: {edges: [edge], balancer: cloud}
      """;

  @TempDir
  Path dir;

  /** Runs {@code config check} on {@code yaml} written to a file; {@code FILE} in {@code args} stands for its path. */
  private Result check(String yaml, String... args) throws Exception {
    Path f = dir.resolve("c.yaml");
    Files.writeString(f, yaml);
    List<String> all = new ArrayList<>(List.of("config", "check"));
    for (String a : args.length == 0 ? new String[] {"FILE"} : args) {
      all.add(a.equals("FILE") ? f.toString() : a);
    }
    return CliTest.run(all.toArray(String[]::new));
  }

  /** Each input once crashed (NullPointerException, NumberFormatException, ArithmeticException) or passed as valid. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      empty file               | ''                                             | (file): the file is empty
      a list at the root       | '- a\\n- b\\n'                                    | (root): expected a mapping, was a list
      a scalar at the root     | '42\\n'                                          | (root): expected a mapping, was the number 42
      only an unknown key      | 'frobnicate: 1\\n'                             | frobnicate: unknown key
      rollAge in seconds       | 'SOUNDstorage: {rollAge: 99999999999999999999s}' | storage.rollAge: must be between 0s and 36500d, was 99999999999999999999s
      rollAge in days          | 'SOUNDstorage: {rollAge: 999999999999999d}'      | storage.rollAge: must be between 0s and 36500d, was 999999999999999d
      rollBytes in MiB         | 'SOUNDstorage: {rollBytes: 99999999999999999999MiB}' | storage.rollBytes: must be between 1 and 1PiB, was 99999999999999999999MiB
      rollBytes in GiB         | 'SOUNDstorage: {rollBytes: 99999999999GiB}'      | storage.rollBytes: must be between 1 and 1PiB, was 99999999999GiB
      a dangling broker        | 'SOUNDsimulator: {edge: nowhere}'                | simulator.edge: must name a broker under brokers:, was "nowhere" (defined: edge, cloud)
      a syntax error           | 'brokers: {edge: [}\\n'                          | line 1, column 18: while parsing a flow node; expected the node content
      """)
  void invalidInputExits2WithItsKeyPathAndNoStackTrace(String what, String yaml, String expected) throws Exception {
    Result r = check(yaml.replace("SOUND", SOUND).replace("\\n", "\n"));
    assertThat(r.exit()).as(what).isEqualTo(2);
    assertThat(r.err()).as(what).contains(expected).doesNotContain("Exception", "\tat ");
    assertThat(r.out()).as(what).isEmpty();
  }

  @Test
  void everyErrorOfAFileIsListedInJsonToo() throws Exception {
    Result r = check("frobnicate: 1\n", "FILE", "--json");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.out()).contains("\"valid\" : false")
        .contains("\"path\" : \"brokers\"", "\"path\" : \"topology.balancer\"", "\"path\" : \"frobnicate\"");
    assertThat(r.err()).doesNotContain("Exception");
  }

  @Test
  void theFileMayAlsoBeGivenWithConfigLikeEveryOtherCommand() throws Exception {
    assertThat(check(SOUND, "--config", "FILE").exit()).isZero();
    assertThat(check(SOUND, "-c", "FILE").out()).contains("is valid: brokers [edge, cloud]");
    Result both = check(SOUND, "FILE", "--config", "FILE");
    assertThat(both.exit()).isEqualTo(2);
    assertThat(both.err()).contains("mutually exclusive");
  }

  @Test
  void aMissingOrUnreadableFileIsNamed() {
    Result r = CliTest.run("config", "check", dir.resolve("nope.yaml").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("(file): ").contains("nope.yaml does not exist").doesNotContain("Exception");
    Result d = CliTest.run("config", "check", dir.toString());
    assertThat(d.exit()).isEqualTo(2);
    assertThat(d.err()).contains("(file): cannot read").contains("it is a directory").doesNotContain("Exception");
  }

  @Test
  void theReferenceIsPrintedAsMarkdownAndJson() {
    Result md = CliTest.run("config", "reference");
    assertThat(md.exit()).isZero();
    assertThat(md.out()).contains("| key | type | default | description |")
        .contains("| `storage.rollAge` | duration | `1m` |");
    Result json = CliTest.run("config", "reference", "--json");
    assertThat(json.exit()).isZero();
    assertThat(json.out()).contains("\"path\" : \"topology.partitions\"", "\"type\" : \"integer 1..1024\"");
  }

  @Test
  void theExampleDocumentsTheCommandAsItIs() throws Exception {
    String example = Files.readString(Path.of("../iotpipe.example.yaml"));
    assertThat(example).contains("config check FILE");
    for (String args : new String[] {"config check ../iotpipe.example.yaml", "config check --config ../iotpipe.example.yaml"}) {
      assertThat(CliTest.run(args.split(" ")).exit()).as(args).isZero();
    }
  }
}
