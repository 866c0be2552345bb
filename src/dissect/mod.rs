//! Turns reassembled streams and datagrams into events (being written).
