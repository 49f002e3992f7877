"""Channels: how a task reaches a shopper outside the page (email over SMTP; SMS, webhooks and the
contact centre's telephony through signed HTTP requests), each sent by an RQ job with retries, and at
most once per task (dispatch.channels.once)."""
