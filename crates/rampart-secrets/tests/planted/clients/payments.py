import stripe
import boto3

stripe.api_key = "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"

s3 = boto3.client(
    "s3",
    aws_access_key_id="AKIAR6BI43ABAHSJ5R25",
    aws_secret_access_key="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",
)
