//! `nat_gateway` (not written yet).

super::not_yet!(NatGateway, "nat_gateway");
