package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Points the live index names at the indices a rebuild wrote beside them ({@code iotpipe reindex --index-suffix S
 * --switch}): after it, {@code telemetry-2026.12.06} is an alias of {@code telemetry-2026.12.06-S} and the old index is
 * gone, so searches by name or by pattern ({@code telemetry-20*}: an index reached both by its own name and through an
 * alias is searched once) and the live indexer's writes (an alias of one index takes writes) go on under the same names.
 * While the rebuild runs, its indices are hidden ({@link #hideRebuild}): patterns do not count its readings twice.
 *
 * <p>Per live name, in this order: (1) the engine copies every document of the old index that the new one lacks
 * ({@code _reindex}, events with {@code op_type create}, latest state with external versions so the higher
 * {@code seq} wins) — readings the live indexer wrote that the store did not hold yet (it lags by its roll age) or that
 * lie outside the replayed range; (2) the old index is blocked for writes (the live indexer's writes to it are then
 * retried, not lost), and what reached it since (1) began is copied again; (3) the new index is refreshed and one
 * {@code _aliases} request switches the name ({@link #swapBody}); the new index is then shown to patterns. A failure
 * before (3) lifts the block and leaves the live name as it was. A second switch (S2 over an alias that points to S)
 * moves the alias and deletes S's index after a grace period; a live name already pointing at the new index is left
 * alone, so a switch that stopped halfway is finished by running it again.
 */
public final class IndexSwitch implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * How far before the first copy began the second one looks ({@code ingestTs} is the indexer's clock when it encoded
   * the bulk): a bulk encoded before but indexed after the first copy's snapshot, and a clock difference between the
   * indexer's host and this one.
   */
  private static final Duration DELTA_MARGIN = Duration.ofMinutes(10);
  /** Documents per page of a copy without {@code _reindex} ({@link #copyByBulk}), and how long the engine keeps its scroll between pages. */
  private static final int COPY_PAGE = 1000;
  private static final String SCROLL_KEEP = "2m";

  /**
   * One live name to switch.
   *
   * @param live    the name searches and the live indexer use
   * @param current the index it resolves to now (itself when it is an index), or null when it does not exist
   * @param fresh   the rebuilt index it will resolve to
   * @param latest  a latest-state index (copied by version, not by create)
   */
  public record Step(String live, String current, String fresh, boolean latest) {
    public boolean done() {
      return fresh.equals(current);
    }
  }

  /** What a switch did for one live name: documents copied from the old index in the two rounds. */
  public record Switched(String live, String from, String to, long copied, double seconds) {}

  /** The switch cannot go on; the message names the fix. Nothing switched before it is undone. */
  public static final class Refused extends IllegalStateException {
    Refused(String message) {
      super(message);
    }
  }

  private final IndexerConfig cfg;
  private final String suffix;
  private final String tenant;
  private final EsClient client;
  private final Consumer<String> progress;
  private final Consumer<String> switched;
  private boolean toldNoReindexApi;

  /**
   * @param suffix   the rebuild's {@code --index-suffix}
   * @param tenant   only this tenant's indices, or null for all of them
   * @param progress receives a line while a copy runs, may be null
   * @param switched receives a line per live name switched (or found switched), and how the engine is copied from, may be null
   */
  public IndexSwitch(IndexerConfig cfg, String suffix, String tenant, Consumer<String> progress, Consumer<String> switched) {
    this.cfg = cfg;
    this.suffix = suffix;
    this.tenant = tenant;
    this.client = new EsClient(cfg);
    this.progress = progress == null ? s -> { } : progress;
    this.switched = switched == null ? s -> { } : switched;
  }

  /** The rebuilt indices' own template: {@link IndexSetup}'s, hidden. */
  String hiddenTemplate() {
    return cfg.indexPrefix() + "-rebuild-" + suffix;
  }

  /** The names of the rebuilt indices, as patterns: events and latest state, with and without a tenant. */
  List<String> rebuiltPatterns() {
    List<String> p = new ArrayList<>(List.of(cfg.indexPrefix() + "-20*-" + suffix, cfg.indexPrefix() + "-20*-" + suffix + TenantIndices.INFIX + "*"));
    if (cfg.latestState()) {
      p.add(cfg.latestIndex() + "-" + suffix + TenantIndices.INFIX + "*");
    }
    return p;
  }

  /** The body of the hidden template: the events' settings and mappings, {@code hidden}, above the live template's priority. */
  static ObjectNode hiddenTemplateBody(List<String> patterns, IndexerConfig cfg, IndexSetup.Engine engine) {
    ObjectNode t = JSON.createObjectNode();
    patterns.forEach(t.putArray("index_patterns")::add);
    t.put("priority", 201);
    ObjectNode tpl = t.putObject("template");
    ObjectNode settings = IndexSetup.settings(cfg);
    settings.put("hidden", true);
    tpl.set("settings", settings);
    tpl.set("mappings", IndexSetup.mappings(engine));
    return t;
  }

  /**
   * Hides the indices a rebuild writes until they are switched (run before the replay): a pattern search
   * ({@code telemetry-20*}) skips hidden indices, so it does not count the readings twice while old and new exist side
   * by side. Rebuilt indices created later get it from a template of their own; those already there (the latest-state
   * index, an earlier run's) get the setting. Engines without composable templates (Elasticsearch before 7.8) keep the
   * rebuild visible: returns false then.
   */
  public boolean hideRebuild(IndexSetup.Engine engine) {
    EsClient.Response r = client.sendSync("PUT", "/_index_template/" + hiddenTemplate(), hiddenTemplateBody(rebuiltPatterns(), cfg, engine).toString());
    if (r.status() == 404 || r.status() == 405 || r.status() == 400 && r.text().contains("no handler")) {
      return false;
    }
    check(r, "creating the template " + hiddenTemplate() + " that hides the rebuilt indices");
    String existing = String.join(",", rebuiltPatterns()) + (cfg.latestState() ? "," + cfg.latestIndex() + "-" + suffix : "");
    JsonNode all = tree(check(client.sendSync("GET", "/" + existing + "/_alias?allow_no_indices=true&ignore_unavailable=true&expand_wildcards=all",
        null), "listing the rebuilt indices " + existing));
    List<String> unswitched = new ArrayList<>();
    // one a live name already points to (a switch run again) stays visible: patterns reach the live data through it
    all.fields().forEachRemaining(e -> {
      if (e.getValue().path("aliases").isEmpty()) {
        unswitched.add(e.getKey());
      }
    });
    if (!unswitched.isEmpty()) {
      check(client.sendSync("PUT", "/" + String.join(",", unswitched) + "/_settings", "{\"index.hidden\":true}"),
          "hiding the rebuilt indices " + unswitched);
    }
    return true;
  }

  /** The index patterns holding the rebuilt indices (events and latest state, every tenant's). */
  String freshPatterns() {
    String p = cfg.indexPrefix() + "-20*-" + suffix + "*";
    return cfg.latestState() ? p + "," + cfg.latestIndex() + "-" + suffix + "*" : p;
  }

  /**
   * The live name of {@code fresh}, or null when it is not a rebuilt index of this suffix (and tenant): the suffix
   * taken out before the tenant part ({@code telemetry-2026.12.06-v2.tenant-a} is {@code telemetry-2026.12.06.tenant-a}).
   */
  static String liveName(String fresh, String suffix, String base, String tenant) {
    Matcher m = Pattern.compile(Pattern.quote(base) + "(.*)" + Pattern.quote("-" + suffix) + "(" + Pattern.quote(TenantIndices.INFIX)
        + "[^.]+)?").matcher(fresh);
    if (!m.matches() || m.group(1).contains(TenantIndices.INFIX)) {
      return null; // e.g. tenant x-v2's live index telemetry-2026.12.06.tenant-x-v2
    }
    String tenantPart = m.group(2) == null ? "" : m.group(2);
    if (tenant != null && !tenantPart.equals(TenantIndices.INFIX + tenant)) {
      return null;
    }
    return base + m.group(1) + tenantPart;
  }

  /** Which rebuilt index each live name will resolve to, and what it resolves to now. Changes nothing. */
  public List<Step> plan() {
    EsClient.Response r = client.sendSync("GET", "/_cat/indices/" + freshPatterns() + "?format=json&h=index&expand_wildcards=all", null);
    List<String> names = new ArrayList<>();
    if (r.status() != 404) {
      check(r, "listing the rebuilt indices " + freshPatterns());
      tree(r).forEach(n -> names.add(n.path("index").asText()));
    }
    Map<String, Step> steps = new TreeMap<>();
    for (String fresh : names) {
      String live = liveName(fresh, suffix, cfg.indexPrefix() + "-20", tenant);
      boolean latest = false;
      if (live == null && cfg.latestState()) {
        live = liveName(fresh, suffix, cfg.latestIndex(), tenant);
        latest = live != null;
      }
      if (live != null) {
        steps.put(live, new Step(live, current(live, fresh), fresh, latest));
      }
    }
    if (steps.isEmpty()) {
      throw new Refused("no rebuilt index to switch to: nothing matches " + freshPatterns()
          + (tenant == null ? "" : " for tenant " + tenant) + "; rebuild with the same --index-suffix " + suffix
          + " first (check the suffix, and --since/--until: the store may hold nothing there)");
    }
    // the latest state last: its live name serves dashboards that read every charger's state at once
    List<Step> out = new ArrayList<>(steps.values().stream().filter(s -> !s.latest()).toList());
    out.addAll(steps.values().stream().filter(Step::latest).toList());
    return out;
  }

  /**
   * What {@code live} resolves to: itself (an index), the one index it is an alias of, or null (missing). An alias of
   * several indices, or of an index this command did not build, is refused: switching would delete what it points to.
   */
  private String current(String live, String fresh) {
    EsClient.Response r = client.sendSync("GET", "/" + live + "/_alias", null);
    if (r.status() == 404) {
      return null;
    }
    check(r, "looking up " + live);
    List<String> targets = new ArrayList<>();
    tree(r).fieldNames().forEachRemaining(targets::add);
    return resolve(live, fresh, targets);
  }

  /** {@link #current} on the engine's answer: the indices {@code live} resolves to. */
  static String resolve(String live, String fresh, List<String> targets) {
    if (targets.size() == 1 && targets.get(0).equals(live)) {
      return live;
    }
    if (targets.size() != 1) {
      throw new Refused(live + " is an alias of " + targets.size() + " indices " + targets + ": the live indexer could not write"
          + " through it and a switch would not know which to replace; remove the alias (POST /_aliases with a \"remove\" action)"
          + " or point it at one index, then run again");
    }
    String target = targets.get(0);
    int tenantAt = live.indexOf(TenantIndices.INFIX);
    String base = tenantAt < 0 ? live : live.substring(0, tenantAt);
    String tenantPart = tenantAt < 0 ? "" : live.substring(tenantAt);
    boolean ours = target.equals(fresh) || target.startsWith(base + "-") && target.endsWith(tenantPart)
        && target.length() > base.length() + 1 + tenantPart.length();
    if (!ours) {
      throw new Refused(live + " is already an alias of " + target + ", which is not a rebuild of it (" + base + "-<suffix>"
          + tenantPart + "): a switch would delete " + target + "; remove the alias (POST /_aliases {\"actions\":[{\"remove\":"
          + "{\"index\":\"" + target + "\",\"alias\":\"" + live + "\"}}]}) or switch it by hand, then run again");
    }
    return target;
  }

  /**
   * Switches every step in turn; returns what each did. Old indices behind an alias are deleted at the end, {@code grace}
   * after the last switch, so that searches running when their alias moved still find them. Throws {@link Refused} at
   * the first step that fails.
   */
  public List<Switched> run(List<Step> steps, Duration grace) {
    List<Switched> out = new ArrayList<>();
    List<String> retired = new ArrayList<>();
    for (Step s : steps) {
      long t0 = System.nanoTime();
      if (s.done()) {
        unhide(s.fresh());
        switched.accept("switch: " + s.live() + " already points to " + s.fresh());
        continue;
      }
      long copied = 0;
      if (s.current() != null) {
        Instant firstCopy = Instant.now();
        copied += copy(s, null);
        block(s.current(), true);
        boolean hid = false;
        try {
          copied += copy(s, firstCopy.minus(DELTA_MARGIN).minus(cfg.requestTimeout()));
          if (!s.current().equals(s.live())) {
            // reached through its alias only from now on: once the alias moves, no pattern finds it, yet it still exists
            hidden(s.current(), true);
            hid = true;
          }
          swap(s);
          unhide(s.fresh());
        } catch (RuntimeException e) {
          try {
            if (hid) {
              hidden(s.current(), false);
            }
            block(s.current(), false);
          } catch (RuntimeException again) {
            e.addSuppressed(again);
            throw new Refused(e.getMessage() + "; and restoring " + s.current() + " failed (" + again.getMessage() + "): the live indexer"
                + " cannot write to it until you run PUT /" + s.current() + "/_settings {\"index.blocks.write\": false, \"index.hidden\": false}"
                + " or this command again");
          }
          throw e;
        }
        if (hid) {
          retired.add(s.current());
        }
      } else {
        swap(s);
        unhide(s.fresh());
      }
      Switched done = new Switched(s.live(), s.current(), s.fresh(), copied, Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
      switched.accept("switch: " + s.live() + " -> " + s.fresh() + (s.current() == null ? " (it did not exist)"
          : ", " + copied + " documents only " + s.current() + " held copied, " + s.current()
          + (retired.contains(s.current()) ? " removed after the grace period" : " removed")));
      out.add(done);
    }
    EsClient.Response r = client.sendSync("DELETE", "/_index_template/" + hiddenTemplate(), null);
    if (r.status() != 404 && r.status() != 405) {
      check(r, "deleting the template " + hiddenTemplate() + " (it only hid the rebuild)");
    }
    if (!retired.isEmpty()) {
      switched.accept("switch: removing " + String.join(", ", retired) + " in " + grace.toSeconds() + " s, once searches that"
          + " started before the switch are done");
      try {
        TimeUnit.NANOSECONDS.sleep(grace.toNanos());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Refused("interrupted before removing " + retired + ": they are hidden and no name points to them; delete them");
      }
      for (String old : retired) {
        EsClient.Response d = client.sendSync("DELETE", "/" + old, null);
        if (d.status() != 404) {
          check(d, "removing the old index " + old + " (no name points to it any more; delete it by hand)");
        }
      }
    }
    return out;
  }

  private void hidden(String index, boolean on) {
    check(client.sendSync("PUT", "/" + index + "/_settings", "{\"index.hidden\":" + on + "}"), (on ? "hiding " : "showing ") + index);
  }

  /**
   * After the swap: the live name (an alias, found by patterns) already reaches the new index, which patterns then
   * match by its own name too; an index reached both ways is searched once.
   */
  private void unhide(String index) {
    check(client.sendSync("PUT", "/" + index + "/_settings", "{\"index.hidden\":false}"), "making " + index + " visible to pattern searches");
  }

  /** The {@code _reindex} body copying what {@code to} lacks from {@code from} (since {@code ingestedSince}, if set). */
  static ObjectNode copyBody(String from, String to, boolean latest, Instant ingestedSince) {
    ObjectNode b = JSON.createObjectNode();
    // documents the rebuild wrote already are conflicts, the expected case, not failures
    b.put("conflicts", "proceed");
    ObjectNode source = b.putObject("source");
    source.put("index", from);
    if (ingestedSince != null) {
      source.putObject("query").putObject("range").putObject("ingestTs").put("gte", DateTimeFormatter.ISO_INSTANT.format(ingestedSince));
    }
    ObjectNode dest = b.putObject("dest");
    dest.put("index", to);
    if (latest) {
      // the old index's versions are seqs (the indexer writes latest state with external versions): the higher one wins
      dest.put("version_type", "external");
    } else {
      dest.put("op_type", "create");
    }
    return b;
  }

  /**
   * The one {@code _aliases} request. A live name that is an index becomes an alias in the same request that removes
   * the index (a name cannot be both). One that is an alias already moves to the new index; the old one is deleted
   * later ({@link #run}), because the engine silently leaves out of a search in flight the shards of an index deleted
   * under it.
   */
  static ObjectNode swapBody(Step s) {
    ObjectNode b = JSON.createObjectNode();
    var actions = b.putArray("actions");
    if (s.current() != null && !s.current().equals(s.live())) {
      actions.addObject().putObject("remove").put("index", s.current()).put("alias", s.live());
    }
    actions.addObject().putObject("add").put("index", s.fresh()).put("alias", s.live());
    if (s.live().equals(s.current())) {
      actions.addObject().putObject("remove_index").put("index", s.current());
    }
    return b;
  }

  private void swap(Step s) {
    // searches through the live name must find at once all the old one answered: the replay's last documents are not
    // refreshed yet (and a copy that created nothing refreshes nothing)
    check(client.sendSync("POST", "/" + s.fresh() + "/_refresh", null), "refreshing " + s.fresh());
    EsClient.Response r = client.sendSync("POST", "/_aliases", swapBody(s).toString());
    if (r.status() >= 300) {
      throw new Refused("switching " + s.live() + " to " + s.fresh() + " failed (HTTP " + r.status() + ": " + head(r.text())
          + ")" + (s.current() == null ? "; the live indexer may have created " + s.live() + " meanwhile: run again" : "")
          + "; " + s.live() + " still resolves to " + (s.current() == null ? "nothing" : s.current()));
    }
  }

  /** Refreshes {@code from} (a copy reads what a search sees) and copies into the new index; returns documents copied. */
  private long copy(Step s, Instant ingestedSince) {
    check(client.sendSync("POST", "/" + s.current() + "/_refresh", null), "refreshing " + s.current());
    EsClient.Response r = client.sendSync("POST", "/_reindex?wait_for_completion=false&refresh=true",
        copyBody(s.current(), s.fresh(), s.latest(), ingestedSince).toString());
    String what = (ingestedSince == null ? "copying what only " : "copying what reached ") + s.current()
        + (ingestedSince == null ? " holds" : " since the first copy (writes to it blocked)") + " into " + s.fresh();
    if (noReindexApi(r)) {
      if (!toldNoReindexApi) {
        toldNoReindexApi = true;
        switched.accept("switch: this engine has no _reindex API (Elasticsearch's reindex module is not installed): copying"
            + " through search and _bulk instead");
      }
      return copyByBulk(s, ingestedSince, what);
    }
    check(r, "copying " + s.current() + " into " + s.fresh());
    String task = tree(r).path("task").asText();
    while (true) {
      JsonNode t = tree(check(client.sendSync("GET", "/_tasks/" + task, null), "following the copy task " + task));
      JsonNode status = t.path("task").path("status");
      if (t.path("completed").asBoolean()) {
        JsonNode resp = t.path("response");
        JsonNode error = t.path("error");
        if (error.isObject() || resp.path("failures").size() > 0) {
          JsonNode f = error.isObject() ? error : resp.path("failures").get(0);
          throw new Refused(what + " failed: " + head(f.toString()) + "; " + s.live() + " is unchanged, run again once that is fixed");
        }
        return resp.path("created").asLong() + resp.path("updated").asLong();
      }
      progress.accept(String.format(java.util.Locale.ROOT, "switch: %s, %,d of %,d documents (%,d present already)", what,
          status.path("created").asLong() + status.path("updated").asLong(), status.path("total").asLong(),
          status.path("version_conflicts").asLong()));
      try {
        TimeUnit.MILLISECONDS.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Refused("interrupted while " + what + " (the engine's task " + task + " goes on); " + s.live() + " is unchanged");
      }
    }
  }

  /**
   * Whether the engine answered {@code POST /_reindex} as an engine without the reindex API: Elasticsearch's reindex
   * module is left out of some distributions (its integ-test zip): the path then reaches the route of an index named
   * {@code _reindex}, which takes no POST (405); a path no route knows gets 400 "no handler found".
   */
  static boolean noReindexApi(EsClient.Response r) {
    return r.status() == 405 || r.status() == 400 && r.text().contains("no handler found");
  }

  /**
   * {@link #copy} without the engine's {@code _reindex}: the old index walked with a scroll, each page written with
   * {@code _bulk} as {@link #copyBody} has the engine do it (events created, latest state by external version), so a
   * document the new index holds already is a conflict and stays as it is. Hand-written because the engine's own copy
   * is what is missing.
   */
  private long copyByBulk(Step s, Instant ingestedSince, String what) {
    ObjectNode search = JSON.createObjectNode();
    search.put("size", COPY_PAGE).put("version", true).put("track_total_hits", true);
    search.putArray("sort").add("_doc");
    if (ingestedSince != null) {
      search.putObject("query").putObject("range").putObject("ingestTs").put("gte", DateTimeFormatter.ISO_INSTANT.format(ingestedSince));
    }
    JsonNode page = tree(check(client.sendSync("POST", "/" + s.current() + "/_search?scroll=" + SCROLL_KEEP, search.toString()),
        "reading " + s.current() + " to copy it (this engine has no _reindex API)"));
    long total = page.path("hits").path("total").path("value").asLong(page.path("hits").path("total").asLong());
    long[] counts = new long[2]; // copied, present already
    String scroll = page.path("_scroll_id").asText(null);
    try {
      while (page.path("hits").path("hits").size() > 0) {
        byte[] bulk = bulkCopy(page.path("hits").path("hits"), s.fresh(), s.latest());
        EsClient.Response r = client.send("POST", "/_bulk", bulk, "application/x-ndjson").join();
        countCopied(tree(check(r, what)), counts, what, s.live());
        progress.accept(String.format(java.util.Locale.ROOT, "switch: %s (no _reindex API: search and _bulk), %,d of %,d documents (%,d present already)",
            what, counts[0], total, counts[1]));
        page = tree(check(client.sendSync("POST", "/_search/scroll", JSON.createObjectNode().put("scroll", SCROLL_KEEP)
            .put("scroll_id", scroll).toString()), "reading " + s.current() + " on to copy it"));
        scroll = page.path("_scroll_id").asText(scroll);
      }
    } catch (java.util.concurrent.CompletionException e) {
      throw new EsClient.EsUnavailableException(what + ": " + client.explain(EsClient.unwrap(e)), e);
    } finally {
      if (scroll != null) {
        ObjectNode clear = JSON.createObjectNode();
        clear.putArray("scroll_id").add(scroll);
        client.sendSync("DELETE", "/_search/scroll", clear.toString()); // else the engine keeps it for SCROLL_KEEP
      }
    }
    check(client.sendSync("POST", "/" + s.fresh() + "/_refresh", null), "refreshing " + s.fresh());
    return counts[0];
  }

  /** One page of search hits as the {@code _bulk} body writing them into {@code to} (see {@link #copyByBulk}). */
  static byte[] bulkCopy(JsonNode hits, String to, boolean latest) {
    StringBuilder b = new StringBuilder();
    for (JsonNode hit : hits) {
      ObjectNode action = JSON.createObjectNode();
      ObjectNode meta = action.putObject(latest ? "index" : "create");
      meta.put("_index", to).put("_id", hit.path("_id").asText());
      if (latest) {
        // the old index's version is the reading's seq (the indexer writes latest state with external versions)
        meta.put("version", hit.path("_version").asLong()).put("version_type", "external");
      }
      b.append(action).append('\n').append(hit.path("_source")).append('\n');
    }
    return b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * Adds a {@code _bulk} answer of {@link #bulkCopy} to {@code counts} (copied, present already: a conflict); throws
   * {@link Refused} for any other failure, as a failed {@code _reindex} does.
   */
  static void countCopied(JsonNode answer, long[] counts, String what, String live) {
    for (JsonNode item : answer.path("items")) {
      JsonNode result = item.elements().next();
      int status = result.path("status").asInt();
      if (status == 200 || status == 201) {
        counts[0]++;
      } else if (status == 409) {
        counts[1]++;
      } else {
        throw new Refused(what + " failed: HTTP " + status + " for " + result.path("_id").asText() + ": "
            + head(result.path("error").toString()) + "; " + live + " is unchanged, run again once that is fixed");
      }
    }
  }

  /**
   * Blocks (or allows again) writes to {@code index}. The add-block API waits for writes in flight to finish, so a
   * copy after it sees every document; engines before it (Elasticsearch 7.9) have the setting only.
   */
  private void block(String index, boolean on) {
    EsClient.Response r = on ? client.sendSync("PUT", "/" + index + "/_block/write", null) : null;
    if (r == null || r.status() == 404 || r.status() == 405 || r.status() == 400 && r.text().contains("no handler")) {
      r = client.sendSync("PUT", "/" + index + "/_settings", "{\"index.blocks.write\":" + on + "}");
    }
    check(r, (on ? "blocking writes to " : "allowing writes to ") + index);
  }

  static EsClient.Response check(EsClient.Response r, String what) {
    if (r.status() >= 300) {
      // the indexer's own user should not hold manage (it could delete indices): an operator runs the switch
      throw new Refused(what + " failed: HTTP " + r.status() + ": " + head(r.text())
          + (BulkOutcomes.refusesCredentials(r.status()) ? " (a switch needs the manage privilege on the indices and"
          + " aliases: run it with an operator's credentials in indexer.username/password or indexer.apiKey, not the"
          + " indexer's own)" : ""));
    }
    return r;
  }

  private static JsonNode tree(EsClient.Response r) {
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new Refused("the search engine's answer is not JSON: " + head(r.text()));
    }
  }

  private static String head(String s) {
    return s.length() > 400 ? s.substring(0, 400) + "..." : s;
  }

  @Override
  public void close() {
    client.close();
  }
}
