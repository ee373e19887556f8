require 'vault'
Vault.configure do |config|
  config.address = "https://vault.prod.internal:8200"
  config.token = "hvs.CAESIN3XIw0HZGDlA8PfA1wFnzgNc0fwuXIcOrBY2xKSxTFQ-bmgH8DV3AkcnJ0zbOrlbbM_LL50_h_zNOCOspNTHjt"
end
