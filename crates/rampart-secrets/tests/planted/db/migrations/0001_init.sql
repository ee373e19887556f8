CREATE TABLE orders (id bigserial primary key, total_cents bigint not null);
CREATE ROLE reporting LOGIN PASSWORD '83-iFU#hN!e--6%wk-';
GRANT SELECT ON orders TO reporting;
