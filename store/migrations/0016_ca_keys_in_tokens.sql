-- 0016: a CA key may live in a PKCS#11 token (an HSM) rather than in the
-- database (issue 17). Such a key is recorded by where it is: the module's
-- path, the token's label and the key's label. Its private key is in the
-- token only; the PIN that unlocks the token is never stored anywhere
-- hostca writes. Every key is held in exactly one of the two places.
ALTER TABLE ca_keys ADD COLUMN pkcs11_module text CHECK (pkcs11_module <> '');
ALTER TABLE ca_keys ADD COLUMN pkcs11_token_label text CHECK (pkcs11_token_label <> '');
ALTER TABLE ca_keys ADD COLUMN pkcs11_key_label text CHECK (pkcs11_key_label <> '');
ALTER TABLE ca_keys ALTER COLUMN encrypted_private_key_pem DROP NOT NULL;
ALTER TABLE ca_keys ADD CONSTRAINT ca_keys_held_in_one_place CHECK (
  (encrypted_private_key_pem IS NULL) = (pkcs11_key_label IS NOT NULL)
  AND (pkcs11_module IS NULL) = (pkcs11_key_label IS NULL)
  AND (pkcs11_token_label IS NULL) = (pkcs11_key_label IS NULL));

-- The first key, as the ca row has kept it since 0001: none for a CA made
-- in a token.
ALTER TABLE ca ALTER COLUMN encrypted_private_key_pem DROP NOT NULL;
