-- service account for the billing worker
CREATE USER billing_worker WITH PASSWORD '5Hoh44ss9BJe9KLUxyeHlq';
ALTER USER billing_worker SET search_path = billing;
