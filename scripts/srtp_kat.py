#!/usr/bin/env python3
# RFC 3711 SRTP (AES-CM + HMAC-SHA1) in a few lines of Python `cryptography`, checked against
# the RFC's appendix B.2 keystream and B.3 key derivation vectors; prints the known answers
# of service/src/pstn/media/srtp.rs (matches_an_independent_rfc_3711_implementation).
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
import hmac, hashlib, base64
def aes_cm(key, iv16, n):
    e = Cipher(algorithms.AES(key), modes.CTR(iv16)).encryptor()
    return e.update(b"\0"*n)
def derive(mk, ms, label, n):
    x = bytearray(ms); x[7] ^= label
    return aes_cm(mk, bytes(x)+b"\0\0", n)
h=bytes.fromhex
mk=h("E1F97A0D3E018BE0D64FA32C06DE4139"); ms=h("0EC675AD498AFEEBB6960B3AABE6")
assert derive(mk,ms,0,16)==h("C61E7A93744F39EE10734AFE3FF7A087")
assert derive(mk,ms,2,14)==h("30CBBC08863D8C85D49DB34A9AE1")
assert derive(mk,ms,1,20)==h("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
# B.2 keystream
ks=aes_cm(h("2B7E151628AED2A6ABF7158809CF4F3C"), h("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), 48)
assert ks[:16]==h("E03EAD0935C95E80E166B16DD92B4EB4"), ks.hex()
def protect(mk, ms, pkt, roc=0, taglen=10):
    ck=derive(mk,ms,0,16); ak=derive(mk,ms,1,20); cs=derive(mk,ms,2,14)
    seq=int.from_bytes(pkt[2:4],'big'); ssrc=int.from_bytes(pkt[8:12],'big')
    idx=(roc<<16)|seq
    iv=int.from_bytes(cs+b"\0\0",'big') ^ (ssrc<<64) ^ (idx<<16)
    ivb=iv.to_bytes(16,'big')
    hdr=pkt[:12]; pl=pkt[12:]
    enc=bytes(a^b for a,b in zip(pl, aes_cm(ck, ivb, len(pl))))
    tag=hmac.new(ak, hdr+enc+roc.to_bytes(4,'big'), hashlib.sha1).digest()[:taglen]
    return hdr+enc+tag
pkt=bytes([0x80,0x00,0x12,0x34,0,0,0x04,0xd2,0xde,0xad,0xbe,0xef])+bytes(range(20))
print(base64.b64encode(mk+ms).decode())
print(protect(mk,ms,pkt).hex())
print(protect(mk,ms,pkt,taglen=4).hex())
