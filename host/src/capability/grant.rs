//! Which AWS services and HTTP APIs each connector may call.
//!
//! Guards against a connector taking more than the operator gave it. A
//! connector declares the services and APIs it needs and names itself,
//! but all are the connector's own words: a grant is therefore never keyed
//! on the manifest name. The operator keys grants on what the
//! operator controls: the alias a workflow gives the connector, the
//! component's file path, or the `sha256:` digest of its bytes. A
//! connector gets what its manifest declares, narrowed by every grant that
//! matches it; a grant that matches no loaded connector is reported, so a
//! typo cannot leave a connector unrestricted without anyone noticing.

use std::collections::BTreeSet;

use anyhow::{Context, bail};

use crate::endpoints::check_service;
pub use crate::selector::{ConnectorIdentity, ConnectorSelector};

/// The name a connector declares to call whichever APIs the operator
/// grants it by name (a generic HTTP connector).
pub const ANY_API: &str = "*";

/// The services and APIs one connector may call; `Default` grants none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    services: BTreeSet<String>,
    apis: BTreeSet<String>,
    /// The credential kinds each declared API accepts, where it says.
    accepted: std::collections::BTreeMap<String, Vec<&'static str>>,
}

impl Grant {
    /// Grants exactly `services`.
    ///
    /// ```
    /// use connector_host::Grant;
    /// let grant = Grant::new(["cognito-idp"]);
    /// assert!(grant.check("cognito-idp").is_ok());
    /// assert!(grant.check("s3").is_err());
    /// ```
    pub fn new<S: Into<String>>(services: impl IntoIterator<Item = S>) -> Self {
        Grant { services: services.into_iter().map(Into::into).collect(), ..Grant::default() }
    }

    /// This grant, with `apis` granted too.
    ///
    /// ```
    /// use connector_host::Grant;
    /// let grant = Grant::new(["cognito-idp"]).with_apis(["github"]);
    /// assert!(grant.check_api("github").is_ok());
    /// assert!(grant.check_api("slack").is_err());
    /// ```
    pub fn with_apis<S: Into<String>>(mut self, apis: impl IntoIterator<Item = S>) -> Self {
        self.apis.extend(apis.into_iter().map(Into::into));
        self
    }

    /// The services and APIs a connector declares, narrowed by each of
    /// `limits`. A connector declaring [`ANY_API`] gets the APIs every
    /// limit names, and none without a limit.
    pub fn narrowed<'a>(
        declared: &[String],
        declared_apis: &[String],
        limits: impl IntoIterator<Item = &'a GrantRule>,
    ) -> Self {
        let mut services: BTreeSet<String> = declared.iter().cloned().collect();
        let mut apis: BTreeSet<String> = declared_apis.iter().filter(|a| *a != ANY_API).cloned().collect();
        let any_api = declared_apis.iter().any(|a| a == ANY_API);
        let mut limited = false;
        for limit in limits {
            services.retain(|s| limit.services.contains(s));
            if any_api && !limited {
                apis.extend(limit.apis.iter().cloned());
            }
            apis.retain(|a| limit.apis.contains(a));
            limited = true;
        }
        Grant { services, apis, accepted: Default::default() }
    }

    /// This grant, knowing that `api` accepts only the credential kinds
    /// `kinds` (contract names: `bearer`, `api-key`, `oauth2`, ...); an
    /// empty list accepts any.
    pub fn accepting(mut self, api: &str, kinds: &[&'static str]) -> Self {
        if !kinds.is_empty() {
            self.accepted.insert(api.to_owned(), kinds.to_vec());
        }
        self
    }

    /// Ok when `api` accepts credentials of `kind`; otherwise why a
    /// connection with them is a mistake.
    pub fn check_credential(&self, api: &str, kind: &str) -> Result<(), String> {
        match self.accepted.get(api) {
            Some(kinds) if !kinds.contains(&kind) => Err(format!(
                "the connection for API `{api}` uses a credential of kind `{kind}`, which the connector says the \
                 API does not accept (it accepts {}); configure one of those",
                kinds.join(", ")
            )),
            _ => Ok(()),
        }
    }

    /// This grant narrowed to `services`.
    pub fn narrowed_to(&self, services: &BTreeSet<String>) -> Self {
        Grant { services: self.services.intersection(services).cloned().collect(), ..self.clone() }
    }

    /// The granted APIs.
    pub fn apis(&self) -> impl Iterator<Item = &str> {
        self.apis.iter().map(String::as_str)
    }

    /// Ok when `api` is granted; otherwise the reason it is denied.
    pub fn check_api(&self, api: &str) -> Result<(), String> {
        if self.apis.contains(api) {
            return Ok(());
        }
        let granted = if self.apis.is_empty() {
            "none".to_owned()
        } else {
            self.apis.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        Err(format!(
            "API {} is not granted to this connector (granted: {granted})",
            crate::escape::quote_untrusted(api)
        ))
    }

    /// The granted services.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(String::as_str)
    }

    /// Ok when `service` is granted; otherwise the reason it is denied.
    pub fn check(&self, service: &str) -> Result<(), String> {
        if self.services.contains(service) {
            return Ok(());
        }
        let granted = if self.services.is_empty() {
            "none".to_owned()
        } else {
            self.services.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        Err(format!("service `{service}` is not granted to this connector (granted: {granted})"))
    }
}

/// One operator grant: the connectors it selects may call at most these
/// services and APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRule {
    pub selector: ConnectorSelector,
    pub services: BTreeSet<String>,
    pub apis: BTreeSet<String>,
}

impl GrantRule {
    /// Parses `SELECTOR=ITEM[,ITEM...]`, each item an AWS service
    /// (`cognito-idp`) or an HTTP API (`api:github`); `SELECTOR=` grants
    /// none.
    ///
    /// ```
    /// use connector_host::{ConnectorSelector, GrantRule};
    /// let rule = GrantRule::parse("cognito=cognito-idp,sts,api:github").unwrap();
    /// assert_eq!(rule.selector, ConnectorSelector::Alias("cognito".into()));
    /// assert_eq!(rule.services.len(), 2);
    /// assert!(rule.apis.contains("github"));
    /// assert!(GrantRule::parse("cognito=Cognito-IDP").is_err());
    /// ```
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let Some((selector, items)) = text.split_once('=') else {
            bail!("grant `{text}` must be CONNECTOR=SERVICE[,SERVICE...] (an API as `api:NAME`)");
        };
        let selector = ConnectorSelector::parse(selector).with_context(|| format!("grant `{text}`"))?;
        let (mut services, mut apis) = (BTreeSet::new(), BTreeSet::new());
        for item in items.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.strip_prefix("api:") {
                Some(api) if crate::identity::is_api_name(api) => {
                    apis.insert(api.to_owned());
                }
                Some(api) => bail!(
                    "grant `{text}`: {} is not an API name (a letter, then letters, digits, `_` or `-`)",
                    crate::escape::quote_untrusted(api)
                ),
                None => {
                    check_service(item).map_err(|e| anyhow::anyhow!("grant `{text}`: {e}"))?;
                    services.insert(item.to_owned());
                }
            }
        }
        Ok(GrantRule { selector, services, apis })
    }
}

/// The operator's grants. A connector that no rule selects gets the
/// services its manifest declares, unless a `*` rule narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    rules: Vec<GrantRule>,
}

impl Grants {
    /// No rules: every connector gets what it declares.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses each of `rules` with [`GrantRule::parse`].
    pub fn parse<S: AsRef<str>>(rules: impl IntoIterator<Item = S>) -> anyhow::Result<Self> {
        let rules = rules.into_iter().map(|r| GrantRule::parse(r.as_ref())).collect::<anyhow::Result<_>>()?;
        Ok(Grants { rules })
    }

    /// Adds a rule.
    pub fn push(&mut self, rule: GrantRule) {
        self.rules.push(rule);
    }

    pub fn rules(&self) -> &[GrantRule] {
        &self.rules
    }

    /// The indices of the rules that select `identity`: those naming it,
    /// else the `*` rules.
    pub(crate) fn matching(&self, identity: &ConnectorIdentity) -> Vec<usize> {
        let selecting = |wanted: &dyn Fn(&ConnectorSelector) -> bool| -> Vec<usize> {
            self.rules.iter().enumerate().filter(|(_, rule)| wanted(&rule.selector)).map(|(i, _)| i).collect()
        };
        let named = selecting(&|selector| selector.matches(identity));
        if named.is_empty() { selecting(&|selector| *selector == ConnectorSelector::Others) } else { named }
    }

    /// The grant of a connector declaring the services `declared` and the
    /// APIs `declared_apis`, narrowed by the rules at `matching` (from
    /// [`matching`](Self::matching)).
    pub(crate) fn grant(&self, declared: &[String], declared_apis: &[String], matching: &[usize]) -> Grant {
        Grant::narrowed(declared, declared_apis, matching.iter().map(|&i| &self.rules[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(alias: Option<&str>, digest: &str) -> ConnectorIdentity {
        ConnectorIdentity { alias: alias.map(Into::into), digest: digest.into(), ..Default::default() }
    }

    #[test]
    fn grants_narrow_what_is_declared_and_key_on_what_the_operator_controls() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let grants =
            Grants::parse(["mine=", &format!("{}=cognito-idp,sqs", digest.to_uppercase().replace("SHA256", "sha256"))])
                .unwrap();
        let declared = vec!["cognito-idp".to_owned(), "s3".to_owned()];
        let unselected = identity(Some("other"), "sha256:00");
        assert!(grants.matching(&unselected).is_empty());
        assert_eq!(grants.grant(&declared, &[], &[]), Grant::new(["cognito-idp", "s3"]));
        let by_alias = grants.matching(&identity(Some("mine"), "sha256:00"));
        assert_eq!(grants.grant(&declared, &[], &by_alias), Grant::default());
        let by_digest = grants.matching(&identity(None, &digest));
        let narrowed = grants.grant(&declared, &[], &by_digest);
        assert!(narrowed.check("cognito-idp").is_ok());
        assert!(narrowed.check("sqs").unwrap_err().contains("`sqs` is not granted"), "never more than declared");
        assert!(narrowed.check("s3").is_err());
        let both = grants.matching(&identity(Some("mine"), &digest));
        assert_eq!(grants.grant(&declared, &[], &both), Grant::default(), "every matching rule narrows");
    }

    #[test]
    fn an_oci_reference_selects_what_was_pulled_by_it_as_asked_or_pinned() {
        let pinned = format!("oci://127.0.0.1:5000/team/cognito@sha256:{}", "ab".repeat(32));
        let grants = Grants::parse(["oci://127.0.0.1:5000/team/cognito:1.0=", &format!("{pinned}=iam")]).unwrap();
        let declared = vec!["iam".to_owned()];
        let pulled = |requested: &str| ConnectorIdentity {
            reference: Some(pinned.clone()),
            requested: Some(requested.to_owned()),
            ..identity(None, "sha256:00")
        };
        let by_tag = grants.matching(&pulled("oci://127.0.0.1:5000/team/cognito:1.0"));
        assert_eq!(by_tag.len(), 2, "the tag as asked and the pinned digest both select it");
        assert_eq!(grants.grant(&declared, &[], &by_tag), Grant::default());
        let by_digest = grants.matching(&pulled(&pinned));
        assert_eq!(grants.grant(&declared, &[], &by_digest), Grant::new(["iam"]));
        assert!(grants.matching(&identity(None, "sha256:00")).is_empty(), "a file is not selected");
        let err = format!("{:#}", GrantRule::parse("oci://127.0.0.1:5000/Team=iam").unwrap_err());
        assert!(err.contains("is not an OCI reference"), "{err}");
    }

    #[test]
    fn a_star_rule_narrows_every_connector_no_other_rule_selects() {
        let grants = Grants::parse(["*=", "cognito=cognito-idp"]).unwrap();
        let declared = vec!["cognito-idp".to_owned(), "iam".to_owned()];
        let other = grants.matching(&identity(Some("x"), "sha256:00"));
        assert_eq!(grants.grant(&declared, &[], &other), Grant::default());
        let cognito = grants.matching(&identity(Some("cognito"), "sha256:00"));
        assert_eq!(grants.grant(&declared, &[], &cognito), Grant::new(["cognito-idp"]));
    }

    #[test]
    fn apis_are_granted_as_declared_and_a_generic_connector_gets_only_what_is_named() {
        let grants = Grants::parse(["narrow=api:github", "generic=api:echo,api:crm", "none="]).unwrap();
        let declared = ["github".to_owned(), "slack".to_owned()];
        let unselected = grants.matching(&identity(Some("other"), "sha256:00"));
        assert_eq!(grants.grant(&[], &declared, &unselected), Grant::default().with_apis(["github", "slack"]));
        let narrow = grants.matching(&identity(Some("narrow"), "sha256:00"));
        assert_eq!(grants.grant(&[], &declared, &narrow), Grant::default().with_apis(["github"]));
        let any = [ANY_API.to_owned()];
        assert_eq!(grants.grant(&[], &any, &unselected), Grant::default(), "`*` with no grant gets nothing");
        let generic = grants.matching(&identity(Some("generic"), "sha256:00"));
        assert_eq!(grants.grant(&[], &any, &generic), Grant::default().with_apis(["crm", "echo"]));
        let none = grants.matching(&identity(Some("none"), "sha256:00"));
        assert_eq!(grants.grant(&[], &any, &none), Grant::default());
        let err = Grant::default().with_apis(["echo"]).check_api("crm").unwrap_err();
        assert!(err.contains("API `crm` is not granted") && err.contains("granted: echo"), "{err}");
        assert!(GrantRule::parse("x=api:a b").is_err());
        assert!(GrantRule::parse("x=api:").is_err());
    }

    #[test]
    fn selectors_and_services_are_checked() {
        assert!(GrantRule::parse("no-equals").unwrap_err().to_string().contains("must be CONNECTOR=SERVICE"));
        let err = format!("{:#}", GrantRule::parse("/nonexistent/x.wasm=s3").unwrap_err());
        assert!(err.contains("cannot be found"), "{err}");
        assert!(GrantRule::parse("sha256:abc=s3").is_err());
        assert!(GrantRule::parse("a b=s3").is_err());
        let err = GrantRule::parse("mine=Cognito-IDP").unwrap_err().to_string();
        assert!(err.contains("`Cognito-IDP` is not a valid service name"), "{err}");
        let file = tempfile::NamedTempFile::new().unwrap();
        let rule = GrantRule::parse(&format!("{}=s3", file.path().display())).unwrap();
        assert_eq!(rule.selector, ConnectorSelector::Path(file.path().canonicalize().unwrap()));
    }
}
