package io.iotpipe.cli.topology;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.topology.DefinitionsExport;
import io.iotpipe.topology.TopologyException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe topology export}: the topology {@code plan|apply} declare, as a RabbitMQ definitions file for tooling
 * that manages brokers that way. The document goes to stdout or {@code --out}; what it leaves out goes to stderr (or
 * into the {@code --out} summary), so {@code export > defs.json} stays importable.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Write the topology as RabbitMQ definitions JSON (exchanges, queues, bindings, shovels, users and "
        + "permissions; no passwords) for rabbitmqctl import_definitions or POST /api/definitions. After an import, "
        + "`topology plan` lists only the passwords `topology apply` still has to set.")
final class ExportCmd implements Callable<Integer> {

  /** Only RabbitMQ definitions so far; the option names the format so that others can follow. */
  enum Format { definitions }

  @Mixin ConfigOption config;

  @Option(names = "--format", defaultValue = "definitions", paramLabel = "FORMAT",
      description = "Output format: ${COMPLETION-CANDIDATES} (default).")
  Format format;

  @Option(names = "--tier", paramLabel = "edge|cloud",
      description = "Only the edge brokers (topology.edges) or only the cloud ones (every other broker of the topology).")
  DefinitionsExport.Tier tier;

  @Option(names = "--broker", paramLabel = "NAME", description = "Only this broker (as named under brokers:).")
  String broker;

  @Option(names = "--out", paramLabel = "FILE", description = "Write the definitions to FILE (0644) instead of stdout.")
  Path out;

  @Option(names = "--json", description = "With --out: print the summary as JSON.")
  boolean json;

  @Override
  public Integer call() {
    if (tier != null && broker != null) {
      throw new CommandFailure(ExitCode.USAGE, "--tier and --broker both choose brokers: give one of them");
    }
    if (json && out == null) {
      throw new CommandFailure(ExitCode.USAGE, "--json prints the summary of the file written with --out; without "
          + "--out the definitions themselves (JSON) go to stdout: add --out FILE");
    }
    IotpipeConfig cfg = config.load();
    DefinitionsExport.Export export;
    try {
      export = DefinitionsExport.export(cfg, tier, broker);
    } catch (TopologyException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
    String text;
    try {
      text = Output.json().writeValueAsString(export.definitions());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot render the definitions: " + e.getMessage(), e);
    }
    Output o = new Output();
    if (out == null) {
      System.out.println(text);
      notes(export).forEach(o::info);
      return ExitCode.OK;
    }
    write(out, text + "\n");
    if (json) {
      o.printJson(summary(export));
    } else {
      System.out.println("wrote " + out + ": definitions for " + String.join(", ", export.brokers()) + " ("
          + counts(export.definitions()) + ")");
      notes(export).forEach(System.out::println);
    }
    return ExitCode.OK;
  }

  private Map<String, Object> summary(DefinitionsExport.Export export) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("file", out.toAbsolutePath().toString());
    m.put("format", format.name());
    m.put("brokers", export.brokers());
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (String k : KINDS) {
      counts.put(k, export.definitions().path(k).size());
    }
    m.put("counts", counts);
    m.put("secretsNotIncluded", export.secrets());
    m.put("notExpressibleInDefinitions", export.notExported());
    m.put("next", next(export));
    return m;
  }

  private static final List<String> KINDS = List.of("vhosts", "exchanges", "queues", "bindings", "parameters", "policies",
      "users", "permissions", "topic_permissions");

  private static String counts(JsonNode d) {
    return String.join(", ", KINDS.stream().map(k -> d.path(k).size() + " " + k.replace('_', ' ')).toList());
  }

  private List<String> next(DefinitionsExport.Export export) {
    String file = out == null ? "FILE" : out.toString();
    return List.of("rabbitmqctl import_definitions " + file + " on " + String.join(", ", export.brokers()),
        "iotpipe topology plan --config " + config.file + " (lists what the import could not carry)",
        "iotpipe topology apply --config " + config.file + " (sets it; the definitions are already in place)");
  }

  private List<String> notes(DefinitionsExport.Export export) {
    List<String> lines = new java.util.ArrayList<>();
    lines.add("no secrets in this file: users carry no password hash, shovel URIs no password; then:");
    next(export).forEach(n -> lines.add("  " + n));
    export.secrets().forEach(s -> lines.add("  secret not included: " + s));
    export.notExported().forEach(s -> lines.add("  not in definitions: " + s));
    return lines;
  }

  /** Written whole or not at all (temporary file, then rename), so an importer never reads half a document. */
  private static void write(Path file, String text) {
    try {
      Path abs = file.toAbsolutePath();
      Files.createDirectories(abs.getParent());
      Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new CommandFailure(ExitCode.FAILED, "cannot write " + file.toAbsolutePath() + ": " + e.getMessage()
          + " (choose another --out)");
    }
  }
}
