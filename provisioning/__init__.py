"""Fleet identities: device keys, MQTT credentials, ACL, certificates; `python -m provisioning`."""
