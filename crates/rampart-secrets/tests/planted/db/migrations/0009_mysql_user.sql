CREATE USER 'analytics'@'%' IDENTIFIED BY '3+hTsskpdl7FQwA+Ix';
GRANT SELECT ON shop.* TO 'analytics'@'%';
