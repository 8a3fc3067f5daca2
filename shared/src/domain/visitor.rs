//! Telling people from link-preview bots and crawlers, by User-Agent, and a person's own visit
//! from what another site or the browser's speculation makes their browser fetch, by the Fetch
//! Metadata (`Sec-Fetch-*`) and purpose headers.

/// Fragments of the User-Agents of link unfurlers (LinkedIn, Slack, Facebook, X, KakaoTalk, …)
/// and crawlers (Google, Naver, Daum, Bing, …), lower-cased.
const BOT_MARKERS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "crawl",
    "slurp",
    "facebookexternalhit",
    "facebookcatalog",
    "linkedin",
    "slack",
    "twitter",
    "whatsapp",
    "telegram",
    "discord",
    "kakaotalk-scrap",
    "kakaostory-og-reader",
    "daum",
    "yeti",
    "naver",
    "google",
    "bingpreview",
    "embedly",
    "skypeuripreview",
    "vkshare",
    "pinterest",
    "redditbot",
    "applebot",
    "preview",
    "curl/",
    "wget/",
    "python-requests",
    "go-http-client",
    "okhttp",
    "headlesschrome/ bot",
];

/// Whether this fetch is a link preview or crawler rather than a person.
/// A missing User-Agent counts as a bot.
pub fn is_bot(user_agent: Option<&str>) -> bool {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return true;
    };
    let ua = ua.to_ascii_lowercase();
    // Google's and Naver's in-app browsers are people: check the crawler tokens precisely.
    if ua.contains("googlebot")
        || ua.contains("google-inspectiontool")
        || ua.contains("googleother")
    {
        return true;
    }
    BOT_MARKERS
        .iter()
        .filter(|m| **m != "google" && **m != "naver" && **m != "linkedin")
        .any(|m| ua.contains(m))
        || (ua.contains("linkedin") && !ua.contains("linkedinapp"))
        || ua.contains("naverbot")
        || ua.contains("google-read-aloud")
}

/// What a browser says about why it fetches a counted URL (the headers' values, as sent).
#[derive(Debug, Default, Clone, Copy)]
pub struct Fetch<'a> {
    /// `Sec-Purpose` (Chromium: `prefetch`, `prefetch;prerender`).
    pub sec_purpose: Option<&'a str>,
    /// `Purpose` or `X-Moz` (older Chromium, Safari, Firefox: `prefetch`).
    pub purpose: Option<&'a str>,
    /// `Sec-Fetch-Dest` (`document` for a navigation, `image` for an `<img>`, …).
    pub dest: Option<&'a str>,
    /// `Sec-Fetch-Site` (`same-origin`, `same-site`, `cross-site`, `none`).
    pub site: Option<&'a str>,
}

impl Fetch<'_> {
    /// Fetched ahead of a person asking (prefetch, prerender): at most a preview.
    pub fn is_speculative(&self) -> bool {
        let has = |v: Option<&str>| v.is_some_and(|v| v.to_ascii_lowercase().contains("prefetch"));
        has(self.sec_purpose) || has(self.purpose)
    }

    /// A top-level navigation (a page view, a followed link). Another site's `<img>` or
    /// `<iframe>` pointing here is not; a browser without Fetch Metadata is taken at its word.
    pub fn is_navigation(&self) -> bool {
        self.dest.is_none_or(|d| d.eq_ignore_ascii_case("document"))
    }

    /// Sent by one of this site's own pages (as the badge page's script reports a share).
    pub fn is_same_origin(&self) -> bool {
        self.site
            .is_none_or(|s| s.eq_ignore_ascii_case("same-origin"))
    }
}

/// The cookie a counted view leaves on the badge's page (its path): the day it was counted on,
/// in the issuer's zone. A view that brings back that day's is the same person again (a
/// reload, a second look): not counted again that day. It names nobody and nothing else.
pub const SEEN_COOKIE: &str = "seen";

/// Whether the request's cookies (each `Cookie` header; API Gateway's `cookies` joined into
/// one) hold [`SEEN_COOKIE`] set to `day`.
pub fn seen_on<'a>(cookie_headers: impl IntoIterator<Item = &'a str>, day: &str) -> bool {
    cookie_headers
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(name, value)| name == SEEN_COOKIE && value.trim_matches('"') == day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_brings_back_the_day_it_was_counted_on() {
        let today = "2026-12-07";
        assert!(seen_on(["lang=ko; seen=2026-12-07"], today));
        assert!(seen_on(["lang=ko", "seen=2026-12-07"], today));
        assert!(seen_on(["lang=ko;seen=\"2026-12-07\""], today));
        assert!(!seen_on(["seen=2026-12-06"], today), "yesterday's");
        assert!(!seen_on(["unseen=2026-12-07; xseen=2026-12-07"], today));
        assert!(!seen_on(std::iter::empty(), today));
    }

    #[test]
    fn people_and_bots() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        let iphone_naver = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 NAVER(inapp; search; 1000; 12.0.0)";
        let linkedin_app = "Mozilla/5.0 (iPhone) Mobile/15E148 [LinkedInApp]";
        for human in [chrome, iphone_naver, linkedin_app] {
            assert!(!is_bot(Some(human)), "{human}");
        }
        for bot in [
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
            "Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html)",
            "facebookexternalhit/1.1;kakaotalk-scrap/1.0",
            "curl/8.4.0",
            "",
        ] {
            assert!(is_bot(Some(bot)), "{bot}");
        }
        assert!(is_bot(None));
    }

    #[test]
    fn fetch_metadata_tells_a_visit_from_what_other_sites_and_speculation_fetch() {
        let none = Fetch::default();
        assert!(!none.is_speculative() && none.is_navigation() && none.is_same_origin());
        let prefetch = Fetch {
            sec_purpose: Some("prefetch;prerender"),
            dest: Some("document"),
            ..none
        };
        assert!(prefetch.is_speculative() && prefetch.is_navigation());
        let old = Fetch {
            purpose: Some("prefetch"),
            ..none
        };
        assert!(old.is_speculative());
        let img = Fetch {
            dest: Some("image"),
            site: Some("cross-site"),
            ..none
        };
        assert!(!img.is_navigation() && !img.is_same_origin());
        let own = Fetch {
            dest: Some("image"),
            site: Some("same-origin"),
            ..none
        };
        assert!(own.is_same_origin());
        let link = Fetch {
            dest: Some("Document"),
            site: Some("cross-site"),
            ..none
        };
        assert!(link.is_navigation() && !link.is_speculative());
    }
}
