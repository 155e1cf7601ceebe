"""Voice: IVR flows, Twilio Voice webhooks and TwiML (arrives with the voice channel)."""
