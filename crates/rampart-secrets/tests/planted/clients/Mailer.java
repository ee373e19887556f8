package com.acme.orders;

public class Mailer {
    private static final String SMTP_PASSWORD = "seOyIe4bM3x_uVr1UU";
    private final DataSource ds = DataSourceBuilder.create()
        .url("jdbc:mysql://mysql.prod.internal:3306/shop")
        .username("shop")
        .password("jo8cxbh8kRdLndtajy0Z3v")
        .build();
}
