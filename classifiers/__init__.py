"""Regions and topics of an item, with the data they need (gazetteer, taxonomy)."""
