-- encryption_key_disclosures: each time `sluice decryption-keys` printed a key's decryption keys
-- (which versions, the OS user@host that ran it, when), written before they are printed. Deleted
-- with the key. Owned by @sluice/crypto's EncryptionKeyStore.

-- CreateTable
CREATE TABLE "encryption_key_disclosures" (
    "id" BIGSERIAL NOT NULL,
    "key_name" TEXT NOT NULL,
    "versions" INTEGER[],
    "disclosed_by" TEXT NOT NULL,
    "disclosed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "encryption_key_disclosures_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "encryption_key_disclosures_key_name_disclosed_at_idx" ON "encryption_key_disclosures"("key_name", "disclosed_at");

-- AddForeignKey
ALTER TABLE "encryption_key_disclosures" ADD CONSTRAINT "encryption_key_disclosures_key_name_fkey" FOREIGN KEY ("key_name") REFERENCES "encryption_keys"("name") ON DELETE CASCADE ON UPDATE CASCADE;
