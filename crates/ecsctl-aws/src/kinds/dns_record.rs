//! `dns_record` (not written yet).

super::not_yet!(DnsRecord, "dns_record");
