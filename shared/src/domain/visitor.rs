//! Telling people from link-preview bots and crawlers, by User-Agent.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
