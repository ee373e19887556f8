#!/bin/sh
# nightly backup to S3
AWS_ACCESS_KEY_ID="AKIAR6BI43ABAHSJ5R25" \
AWS_SECRET_ACCESS_KEY="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" \
  aws s3 cp /var/backups/orders.sql.gz s3://acme-backups/orders/
mysqldump --user=backup --password=wVGUH5ofyswF3pslUPqZ8S orders > /var/backups/orders.sql
