//! The three licenses the spec offers (BusinessBasic, BusinessStandard,
//! BusinessPremium), their SKU part numbers, products and list prices, and
//! the tenant's SKUs as `GET /subscribedSkus` lists them.
//!
//! Graph has no price: the list prices here are Microsoft's published monthly
//! price per user with an annual commitment, in US dollars (microsoft.com,
//! "Compare all Microsoft 365 business plans"); a tenant's own price may
//! differ (currency, partner, monthly commitment).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// License to assign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[allow(clippy::enum_variant_names, reason = "the spec's names")]
pub enum License {
    BusinessBasic,
    BusinessStandard,
    BusinessPremium,
}

impl License {
    pub const ALL: [License; 3] = [
        License::BusinessBasic,
        License::BusinessStandard,
        License::BusinessPremium,
    ];

    /// The name used in arguments (`BusinessBasic`, ...).
    pub fn name(self) -> &'static str {
        match self {
            License::BusinessBasic => "BusinessBasic",
            License::BusinessStandard => "BusinessStandard",
            License::BusinessPremium => "BusinessPremium",
        }
    }

    /// The SKU part number in the tenant's subscriptions.
    pub fn sku_part_number(self) -> &'static str {
        match self {
            License::BusinessBasic => "O365_BUSINESS_ESSENTIALS",
            License::BusinessStandard => "O365_BUSINESS_PREMIUM",
            License::BusinessPremium => "SPB",
        }
    }

    /// The product's name in the admin center.
    pub fn product_name(self) -> &'static str {
        match self {
            License::BusinessBasic => "Microsoft 365 Business Basic",
            License::BusinessStandard => "Microsoft 365 Business Standard",
            License::BusinessPremium => "Microsoft 365 Business Premium",
        }
    }

    /// The published monthly list price per user, US dollars, annual commitment.
    pub fn monthly_list_price_usd(self) -> f64 {
        match self {
            License::BusinessBasic => 6.0,
            License::BusinessStandard => 12.5,
            License::BusinessPremium => 22.0,
        }
    }

    /// The license for a SKU part number, when it is one of the three.
    pub fn from_part_number(part: &str) -> Option<License> {
        License::ALL
            .into_iter()
            .find(|l| l.sku_part_number().eq_ignore_ascii_case(part))
    }
}

/// One entry of `GET /subscribedSkus`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sku {
    pub sku_id: String,
    pub part_number: String,
    /// `prepaidUnits.enabled`.
    pub enabled: i64,
    /// `consumedUnits`.
    pub consumed: i64,
}

impl Sku {
    /// Seats that can still be assigned.
    pub fn free(&self) -> i64 {
        self.enabled - self.consumed
    }

    fn from_json(v: &Value) -> Option<Sku> {
        Some(Sku {
            sku_id: v.get("skuId")?.as_str()?.to_string(),
            part_number: v.get("skuPartNumber")?.as_str()?.to_string(),
            enabled: v
                .pointer("/prepaidUnits/enabled")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            consumed: v.get("consumedUnits").and_then(Value::as_i64).unwrap_or(0),
        })
    }
}

/// All SKUs in a `GET /subscribedSkus` response.
pub fn parse_skus(body: &Value) -> Vec<Sku> {
    crate::graph::collection(body)
        .iter()
        .filter_map(Sku::from_json)
        .collect()
}

/// The SKU for `license`; when the tenant lists it more than once, the entry
/// with the most free seats.
pub fn find_sku(skus: &[Sku], license: License) -> Option<&Sku> {
    skus.iter()
        .filter(|s| {
            s.part_number
                .eq_ignore_ascii_case(license.sku_part_number())
        })
        .max_by_key(|s| s.free())
}

/// Part number for a skuId, when the tenant has it.
pub fn part_number_of<'a>(skus: &'a [Sku], sku_id: &str) -> Option<&'a str> {
    skus.iter()
        .find(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
        .map(|s| s.part_number.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapping_matches_microsoft_part_numbers() {
        assert_eq!(
            License::BusinessBasic.sku_part_number(),
            "O365_BUSINESS_ESSENTIALS"
        );
        assert_eq!(
            License::BusinessStandard.sku_part_number(),
            "O365_BUSINESS_PREMIUM"
        );
        assert_eq!(License::BusinessPremium.sku_part_number(), "SPB");
        for l in License::ALL {
            assert_eq!(License::from_part_number(l.sku_part_number()), Some(l));
        }
        assert_eq!(License::from_part_number("ENTERPRISEPACK"), None);
    }

    #[test]
    fn seats_are_counted() {
        let body = json!({"value": [
            {"skuId": "a", "skuPartNumber": "O365_BUSINESS_ESSENTIALS",
             "consumedUnits": 5, "prepaidUnits": {"enabled": 5, "suspended": 0, "warning": 0}},
            {"skuId": "b", "skuPartNumber": "SPB",
             "consumedUnits": 2, "prepaidUnits": {"enabled": 10}},
            {"skuId": "c"}
        ]});
        let skus = parse_skus(&body);
        assert_eq!(skus.len(), 2);
        let basic = find_sku(&skus, License::BusinessBasic).unwrap();
        assert_eq!(basic.free(), 0);
        assert_eq!(find_sku(&skus, License::BusinessPremium).unwrap().free(), 8);
        assert!(find_sku(&skus, License::BusinessStandard).is_none());
        assert_eq!(part_number_of(&skus, "B"), Some("SPB"));
    }

    #[test]
    fn argument_names_deserialize() {
        let l: License = serde_json::from_value(json!("BusinessPremium")).unwrap();
        assert_eq!(l, License::BusinessPremium);
        assert!(serde_json::from_value::<License>(json!("E3")).is_err());
    }
}
