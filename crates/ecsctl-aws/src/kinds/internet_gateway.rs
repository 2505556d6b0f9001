//! `internet_gateway` (not written yet).

super::not_yet!(InternetGateway, "internet_gateway");
