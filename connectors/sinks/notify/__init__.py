"""`ioc notify`: Alertmanager webhooks -> Zalo OA, Telegram and e-mail."""
