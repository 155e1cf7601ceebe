"""Voice: Twilio Programmable Voice calls through IVR flows (ivr/) to agents."""
