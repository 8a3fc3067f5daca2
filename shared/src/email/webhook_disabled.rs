//! The notice an issuer's admins get when we switch off a webhook endpoint that kept failing.

use crate::domain::locale::Locale;
use maud::html;

/// What the notice says.
pub struct Notice<'a> {
    pub issuer_name: &'a str,
    pub url: &'a str,
    pub reason: &'a str,
    /// Switched off because the receiver answered 410 Gone, not after 5 days of failures.
    pub gone: bool,
    /// The console's webhooks page.
    pub console_url: &'a str,
    pub locale: Locale,
}

/// (subject, plain text, HTML).
pub fn render(n: &Notice<'_>) -> (String, String, String) {
    let l = n.locale;
    let subject = l.t(
        format!("[{}] 웹훅 엔드포인트가 비활성화되었습니다", n.issuer_name),
        format!("[{}] A webhook endpoint was switched off", n.issuer_name),
    );
    let lead = if n.gone {
        l.t(
            "아래 엔드포인트가 410 Gone(더 이상 존재하지 않음)으로 응답하여 웹훅 전송을 중단했습니다. 엔드포인트가 아직 필요하다면 수신 서버를 고친 뒤 콘솔에서 다시 켜고, 실패한 전송을 재시도하세요.",
            "This endpoint answered 410 Gone (it no longer exists), so we stopped sending to it. If you still need it, fix the receiver, switch the endpoint back on in the console, and retry the failed deliveries.",
        )
    } else {
        l.t(
            "아래 엔드포인트가 5일 동안 모든 전송에 실패하여 웹훅 전송을 중단했습니다. 수신 서버를 고친 뒤 콘솔에서 다시 켜고, 실패한 전송을 재시도하세요.",
            "Every delivery to this endpoint failed for 5 days, so we stopped sending to it. Fix the receiver, switch the endpoint back on in the console, and retry the failed deliveries.",
        )
    };
    let last = l.t("마지막 오류", "Last error");
    let text = format!(
        "{subject}\n\n{lead}\n\n{}\n{last}: {}\n\n{}\n",
        n.url, n.reason, n.console_url
    );
    let html = html! {
        p { (lead) }
        p { code { (n.url) } }
        p { (last) ": " (n.reason) }
        p { a href=(n.console_url) { (l.t("콘솔에서 보기", "Open the console")) } }
    }
    .into_string();
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_endpoint_and_the_error_in_both_languages() {
        for locale in [Locale::Ko, Locale::En] {
            let n = Notice {
                issuer_name: "한빛<대학교>",
                url: "https://lms.example/h?a=1&b=2",
                reason: "HTTP 500",
                gone: false,
                console_url: "https://badges.example/console/settings/webhooks",
                locale,
            };
            let (subject, text, html) = render(&n);
            assert!(subject.contains("한빛<대학교>"));
            assert!(text.contains("https://lms.example/h?a=1&b=2") && text.contains("HTTP 500"));
            assert!(html.contains("https://lms.example/h?a=1&amp;b=2"));
        }
    }
}
