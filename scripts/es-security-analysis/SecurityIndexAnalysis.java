// Test tooling for scripts/search-compat.sh only, never shipped: Elasticsearch's integ-test distribution (the one
// Maven Central has) leaves out the analysis-common module, and its security index (where the _security API keeps
// roles and users) defines an "email" analyzer with pattern_capture, uax_url_email, lowercase and unique — without
// them no role or user can be created through the API. Hand-written because the module itself is not published
// anywhere this project can fetch from; each piece is Lucene's own filter or tokenizer.
package io.iotpipe.compat;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

public class SecurityIndexAnalysis extends Plugin implements AnalysisPlugin {

  private static TokenFilterFactory filter(String name, java.util.function.UnaryOperator<TokenStream> f) {
    return new TokenFilterFactory() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public TokenStream create(TokenStream in) {
        return f.apply(in);
      }
    };
  }

  @Override
  public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
    return Map.of(
        "pattern_capture", AnalysisPlugin.requiresAnalysisSettings((ix, env, name, s) -> {
          List<String> patterns = s.getAsList("patterns");
          Pattern[] p = patterns.stream().map(Pattern::compile).toArray(Pattern[]::new);
          boolean keep = s.getAsBoolean("preserve_original", true);
          return filter(name, in -> new PatternCaptureGroupTokenFilter(in, keep, p));
        }),
        "lowercase", (ix, env, name, s) -> filter(name, LowerCaseFilter::new),
        "unique", (ix, env, name, s) -> filter(name, RemoveDuplicatesTokenFilter::new));
  }

  @Override
  public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
    return Map.of("uax_url_email", (ix, env, name, s) -> TokenizerFactory.newFactory(name, UAX29URLEmailTokenizer::new));
  }
}
