//! Item sizes as DynamoDB counts them (Developer Guide, "Item sizes and formats"): the UTF-8
//! bytes of each attribute name plus its value — a string's UTF-8 bytes, a binary's bytes, a
//! number's 1 byte per two significant digits plus 1, 1 for a boolean or null, and for a list
//! or map 3 bytes plus 1 per element plus the elements (a map's element with its name). The
//! same rules as the emulator's meter (`infra/scripts/capacity.py`).

use super::Item;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

/// The size of an item in bytes.
pub fn item_bytes(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_bytes(v)).sum()
}

/// The size of the item a transaction's `Put` writes (0 for the other actions, whose items the
/// rows transactions keep small: daily counters).
pub fn put_bytes(write: &TransactWriteItem) -> usize {
    write.put().map_or(0, |p| item_bytes(p.item()))
}

fn value_bytes(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_bytes(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_bytes(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|e| 1 + value_bytes(e)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, e)| 1 + k.len() + value_bytes(e))
                .sum::<usize>()
        }
        // A type newer than this SDK: counted as its largest plausible form, never as nothing.
        _ => 400 * 1024,
    }
}

/// A number's size: its significant digits (leading and trailing zeros trimmed), one byte per
/// two, plus one.
fn number_bytes(n: &str) -> usize {
    let mantissa = n.split(['e', 'E']).next().unwrap_or(n);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn strings_count_their_utf8_bytes_and_names_count_too() {
        let item = Item::from([("PK".into(), s("AWARD#1")), ("이름".into(), s("김𝄞"))]);
        // "PK" 2 + 7; "이름" 6 + "김" 3 + "𝄞" 4.
        assert_eq!(item_bytes(&item), 2 + 7 + 6 + 7);
    }

    #[test]
    fn numbers_count_significant_digits() {
        for (n, want) in [
            ("0", 2),
            ("7", 2),
            ("12", 2),
            ("123", 3),
            ("-1000", 2),
            ("0.0012300", 3),
            ("1.5E+10", 2),
            ("12345678901234567890", 11),
        ] {
            assert_eq!(number_bytes(n), want, "{n}");
        }
    }

    #[test]
    fn lists_and_maps_carry_their_overhead() {
        let map = AttributeValue::M(
            [
                ("a".to_owned(), s("xy")),
                ("bb".to_owned(), AttributeValue::Bool(true)),
            ]
            .into(),
        );
        // 3 + (1 + 1 + 2) + (1 + 2 + 1)
        assert_eq!(value_bytes(&map), 11);
        let list = AttributeValue::L(vec![s("abc"), AttributeValue::Null(true), map]);
        // 3 + (1 + 3) + (1 + 1) + (1 + 11)
        assert_eq!(value_bytes(&list), 21);
        let sets = [
            (AttributeValue::Ss(vec!["ab".into(), "c".into()]), 3),
            (
                AttributeValue::Ns(vec!["100".into(), "12345".into()]),
                2 + 4,
            ),
            (AttributeValue::Bs(vec![Blob::new(vec![0; 5])]), 5),
            (AttributeValue::B(Blob::new(vec![1; 9])), 9),
        ];
        for (v, want) in sets {
            assert_eq!(value_bytes(&v), want, "{v:?}");
        }
    }
}
