package io.iotpipe.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.reader.ReaderException;
import java.util.List;
import java.util.stream.Collectors;

/** Turns YAML text into a tree, or into one error that says where (line and column) and what is wrong. */
final class YamlTree {

  // Duplicate keys are an error rather than "the last one wins": two `partitions:` lines are a mistake to point at.
  private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());

  private YamlTree() {}

  /** The tree (a missing node for an empty file), or null after adding the syntax error to {@code errors}. */
  static JsonNode parse(String yaml, List<ConfigError> errors) {
    try (JsonParser p = YAML.createParser(yaml)) {
      JsonNode tree = YAML.readTree(p);
      if (tree == null || tree.isMissingNode()) {
        errors.add(new ConfigError("(file)", "the file is empty: start from iotpipe.example.yaml"));
        return MissingNode.getInstance();
      }
      JsonToken next = p.nextToken();
      if (next != null) {
        errors.add(new ConfigError(where(p.currentTokenLocation()), "a second YAML document (after ---): write one document per file"));
        return null;
      }
      return tree;
    } catch (JsonProcessingException e) {
      errors.add(new ConfigError(where(yaml, e), problem(e.getCause() instanceof ReaderException r
          ? "character " + String.format("U+%04X", r.getCodePoint()) + " is not allowed in YAML"
          : e.getOriginalMessage())));
      return null;
    } catch (IOException | RuntimeException e) {
      // SnakeYAML reports some limits (alias expansion, document size) with unchecked exceptions of its own.
      errors.add(new ConfigError("(syntax)", "not readable as YAML: " + ConfigNode.quote(String.valueOf(e.getMessage()))));
      return null;
    }
  }

  /**
   * SnakeYAML's problem mark points at the offending token; Jackson's location is where its parser stood, which
   * for an unclosed bracket is the end of the previous line.
   */
  private static String where(String yaml, JsonProcessingException e) {
    if (e.getCause() instanceof MarkedYAMLException m && m.getProblemMark() != null) {
      return "line " + (m.getProblemMark().getLine() + 1) + ", column " + (m.getProblemMark().getColumn() + 1);
    }
    if (e.getCause() instanceof ReaderException r) {
      int lineStart = yaml.lastIndexOf('\n', Math.max(0, Math.min(r.getPosition(), yaml.length()) - 1)) + 1;
      long line = yaml.substring(0, lineStart).chars().filter(c -> c == '\n').count() + 1;
      return "line " + line + ", column " + (r.getPosition() - lineStart + 1);
    }
    return where(e.getLocation());
  }

  private static String where(JsonLocation at) {
    return at == null || at.getLineNr() < 1 ? "(syntax)" : "line " + at.getLineNr() + ", column " + at.getColumnNr();
  }

  /**
   * SnakeYAML's message repeats the position and quotes the offending line with a caret under it; the position is
   * in the path already, so keep the sentences (context and problem): "while parsing a flow sequence; expected ','
   * or ']', but got <stream end>".
   */
  private static String problem(String message) {
    String text = message == null ? "" : message.lines()
        .filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0)))
        .map(String::strip)
        .collect(Collectors.joining("; "));
    return ConfigNode.safe(text.isEmpty() ? "invalid YAML" : text, 300);
  }
}
