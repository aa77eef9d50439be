//! The three example templates the spec names (wiring instructions,
//! customer communication, marketing), created once in the sandbox tenant
//! so that a first session has something to preview and send.

use m365_plugin_sdk::store;
use m365_plugin_sdk::{ToolError, host, time};
use m365_templating::model::{Category, Template, slug};

const MARKER: &str = "meta/examples";

fn example(
    name: &str,
    category: Category,
    subject: &str,
    html: &str,
    text: &str,
    variables: &[&str],
    description: &str,
) -> Template {
    let at = time::rfc3339_millis(host::now_ms() as i64);
    Template {
        template_id: String::new(),
        template_name: name.into(),
        subject: subject.into(),
        body_html: html.into(),
        body_text: Some(text.into()),
        category,
        variables: variables.iter().map(|s| s.to_string()).collect(),
        description: Some(description.into()),
        created_at: at.clone(),
        updated_at: at,
    }
}

fn examples() -> Vec<Template> {
    vec![
        example(
            "Wiring Instructions v1",
            Category::Wiring,
            "Wire transfer instructions for order {{ order_number }}",
            "<p>Dear {{ customer_name }},</p>\
<p>Please wire <strong>{{ amount }}</strong> for order {{ order_number }} to:</p>\
<table><tr><td>Bank</td><td>{{ bank_name }}</td></tr>\
<tr><td>Routing (ABA)</td><td>{{ routing_number }}</td></tr>\
<tr><td>Account</td><td>{{ account_number }}</td></tr></table>\
<p><strong>We never change these instructions by e-mail.</strong> Before you send money, call us at the number on our website to confirm them.</p>",
            "Dear {{ customer_name }},\n\nPlease wire {{ amount }} for order {{ order_number }} to:\nBank: {{ bank_name }}\nRouting (ABA): {{ routing_number }}\nAccount: {{ account_number }}\n\nWe never change these instructions by e-mail. Call us to confirm them before you send money.",
            &[
                "customer_name",
                "amount",
                "order_number",
                "bank_name",
                "routing_number",
                "account_number",
            ],
            "Wire transfer instructions for a customer's order",
        ),
        example(
            "Customer Order Update",
            Category::CustomerCommunication,
            "Your order {{ order_number }}: {{ status }}",
            "<p>Dear {{ customer_name }},</p><p>Your order {{ order_number }} is now <strong>{{ status }}</strong>.</p><p>Questions? Just reply to this e-mail.</p>",
            "Dear {{ customer_name }},\n\nYour order {{ order_number }} is now {{ status }}.\n\nQuestions? Just reply to this e-mail.",
            &["customer_name", "order_number", "status"],
            "Status update on a customer's order",
        ),
        example(
            "Monthly Market Newsletter",
            Category::Marketing,
            "{{ month }} precious metals update",
            "<h1>{{ month }} market update</h1><p>{{ headline }}</p>\
<hr><p>Liberty Gold Silver, 100 Main Street, Suite 200, Springfield, IL 62701</p>\
<p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a> from these e-mails.</p>",
            "{{ month }} market update\n\n{{ headline }}\n\nLiberty Gold Silver, 100 Main Street, Suite 200, Springfield, IL 62701\nUnsubscribe: {{ unsubscribe_url }}",
            &["month", "headline", "unsubscribe_url"],
            "Monthly newsletter for customers who opted in",
        ),
    ]
}

/// Creates the examples once, in the sandbox only.
pub fn ensure() -> Result<(), ToolError> {
    if !host::tenant().sandbox || store::raw::get(MARKER)?.is_some() {
        return Ok(());
    }
    // Calls that start together each write the examples, every one under its
    // fixed id and only if absent, so that none of them goes on before the
    // examples are there; the marker, written last, spares later calls.
    for mut t in examples() {
        crate::tools::prepare_example(&mut t)?;
        t.template_id = slug(&t.template_name);
        let key = crate::stored::key(&t.template_id);
        if let Err(e) = store::put(&key, &t, store::Expect::New)
            && store::raw::get(&key)?.is_none()
        {
            return Err(e);
        }
    }
    let _ = store::raw::put(MARKER, "true", Some(0));
    Ok(())
}
