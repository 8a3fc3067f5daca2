//! Outbound links on a badge page ("slots") and the counters a click moves. The target of a slot
//! always comes from stored configuration, never from the request, so `/b/{id}/go/{slot}` cannot
//! be used as an open redirect.

use super::ids::TemplateId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    LinkedIn,
    X,
    Facebook,
    Email,
    /// The device's own share sheet (Web Share API), reported by the page's script.
    Native,
    /// "Copy link", reported by the page's script.
    Copy,
}

impl Network {
    pub const ALL: [Network; 6] = [
        Network::LinkedIn,
        Network::X,
        Network::Facebook,
        Network::Email,
        Network::Native,
        Network::Copy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::LinkedIn => "linkedin",
            Network::X => "x",
            Network::Facebook => "facebook",
            Network::Email => "email",
            Network::Native => "native",
            Network::Copy => "copy",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A recommended template (must be in the template's enabled related list).
    Related(TemplateId),
    Banner,
    Enrol,
    /// LinkedIn "Add to profile" (counts as a share: the learner shows the badge).
    LinkedInAdd,
    Share(Network),
}

impl Slot {
    pub fn parse(s: &str) -> Option<Slot> {
        Some(match s {
            "banner" => Slot::Banner,
            "enrol" => Slot::Enrol,
            "linkedin-add" => Slot::LinkedInAdd,
            "share-linkedin" => Slot::Share(Network::LinkedIn),
            "share-x" => Slot::Share(Network::X),
            "share-facebook" => Slot::Share(Network::Facebook),
            "share-email" => Slot::Share(Network::Email),
            "share-native" => Slot::Share(Network::Native),
            "share-copy" => Slot::Share(Network::Copy),
            other => Slot::Related(TemplateId::parse(other.strip_prefix("related-")?).ok()?),
        })
    }

    pub fn name(&self) -> String {
        match self {
            Slot::Related(t) => format!("related-{t}"),
            Slot::Banner => "banner".into(),
            Slot::Enrol => "enrol".into(),
            Slot::LinkedInAdd => "linkedin-add".into(),
            Slot::Share(n) => format!("share-{}", n.as_str()),
        }
    }

    /// The share network, for share slots (LinkedIn add-to-profile is a LinkedIn share).
    pub fn network(&self) -> Option<Network> {
        match self {
            Slot::Share(n) => Some(*n),
            Slot::LinkedInAdd => Some(Network::LinkedIn),
            _ => None,
        }
    }
}

/// Where a click came from: the page itself, a follow-up email, or a promotional KakaoTalk/SMS
/// text (`?src=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Page,
    EmailDay3,
    EmailDay7,
    EmailExpiry,
    TextDay3,
    TextDay7,
}

impl Source {
    /// Unknown tags count as page clicks (a mangled link must still work).
    pub fn parse(s: Option<&str>) -> Source {
        match s {
            Some("email-day3") => Source::EmailDay3,
            Some("email-day7") => Source::EmailDay7,
            Some("email-expiry") => Source::EmailExpiry,
            Some("sms-day3") => Source::TextDay3,
            Some("sms-day7") => Source::TextDay7,
            _ => Source::Page,
        }
    }

    pub fn tag(self) -> Option<&'static str> {
        match self {
            Source::Page => None,
            Source::EmailDay3 => Some("email-day3"),
            Source::EmailDay7 => Some("email-day7"),
            Source::EmailExpiry => Some("email-expiry"),
            Source::TextDay3 => Some("sms-day3"),
            Source::TextDay7 => Some("sms-day7"),
        }
    }

    /// The counter of every click from this kind of message.
    fn counter(self) -> Option<&'static str> {
        match self {
            Source::Page => None,
            Source::EmailDay3 | Source::EmailDay7 | Source::EmailExpiry => Some("email_clicks"),
            Source::TextDay3 | Source::TextDay7 => Some("text_clicks"),
        }
    }
}

/// The counter attributes one click adds 1 to (the same on the award's and the template-day's
/// counter items): `clicks`, `click:{slot}`; for shares `shares`, `share:{network}`; for
/// clicks from a follow-up email or text `email_clicks` or `text_clicks`, and
/// `click:{slot}:{source}`.
pub fn click_counters(slot: &Slot, source: Source) -> Vec<String> {
    let mut v = vec!["clicks".to_owned(), format!("click:{}", slot.name())];
    if let Some(n) = slot.network() {
        v.push("shares".into());
        v.push(format!("share:{}", n.as_str()));
    }
    if let (Some(tag), Some(counter)) = (source.tag(), source.counter()) {
        v.push(counter.into());
        v.push(format!("click:{}:{tag}", slot.name()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_and_reject_junk() {
        let t = TemplateId::generate();
        for s in [
            "banner",
            "enrol",
            "linkedin-add",
            "share-x",
            "share-email",
            "share-native",
            "share-copy",
        ] {
            assert_eq!(Slot::parse(s).unwrap().name(), s);
        }
        assert_eq!(Slot::parse(&format!("related-{t}")), Some(Slot::Related(t)));
        for junk in [
            "",
            "https://evil.example",
            "related-",
            "related-tpl_x",
            "share-myspace",
            "..",
            "banner/../x",
        ] {
            assert_eq!(Slot::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn the_metrics_name_every_network() {
        assert_eq!(
            Network::ALL.map(Network::as_str),
            crate::domain::metrics::NETWORKS
        );
    }

    #[test]
    fn counters_per_click() {
        assert_eq!(
            click_counters(&Slot::Enrol, Source::Page),
            vec!["clicks", "click:enrol"]
        );
        assert_eq!(
            click_counters(&Slot::LinkedInAdd, Source::Page),
            vec!["clicks", "click:linkedin-add", "shares", "share:linkedin"]
        );
        assert_eq!(
            click_counters(&Slot::Enrol, Source::parse(Some("email-day3"))),
            vec![
                "clicks",
                "click:enrol",
                "email_clicks",
                "click:enrol:email-day3"
            ]
        );
    }
}
